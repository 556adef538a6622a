// vif.* procedures: this file only maps names (one procedure per file beside it).
import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { del } from './delete.ts';
import { setSecurityGroups } from './setSecurityGroups.ts';

export const vifRouter = router({
  list,
  create,
  update,
  delete: del,
  setSecurityGroups,
});
