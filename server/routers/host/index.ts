import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { get } from './get.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { remove } from './delete.ts';
import { createEnrollmentToken } from './createEnrollmentToken.ts';
import { revokeCredential } from './revokeCredential.ts';
import { enroll } from './enroll.ts';
import { reports } from './reports.ts';
import { report } from './report.ts';

export const hostRouter = router({
  list,
  get,
  create,
  update,
  delete: remove,
  createEnrollmentToken,
  revokeCredential,
  enroll,
  reports,
  report,
});
