// farm.* procedures: this file only maps names (one procedure per file beside it).
import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { get } from './get.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { del } from './delete.ts';
import { clone } from './clone.ts';
import { exportDocument } from './export.ts';
import { importDocument } from './import.ts';
import { getLayout } from './getLayout.ts';
import { saveLayout } from './saveLayout.ts';
import { createRevision } from './createRevision.ts';
import { listRevisions } from './listRevisions.ts';
import { getRevision } from './getRevision.ts';
import { plan } from './plan.ts';
import { deploy } from './deploy.ts';
import { undeploy } from './undeploy.ts';
import { deployProgress } from './deployProgress.ts';
import { deployments } from './deployments.ts';
import { changes } from './changes.ts';
import { planDocument } from './planDocument.ts';
import { applyDocument } from './applyDocument.ts';
import { trace } from './trace.ts';

export const farmRouter = router({
  list,
  get,
  create,
  update,
  delete: del,
  clone,
  export: exportDocument,
  import: importDocument,
  getLayout,
  saveLayout,
  createRevision,
  listRevisions,
  getRevision,
  plan,
  deploy,
  undeploy,
  deployProgress,
  deployments,
  changes,
  planDocument,
  applyDocument,
  trace,
});
