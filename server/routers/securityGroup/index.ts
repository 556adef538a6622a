// securityGroup.* procedures: this file only maps names (one procedure per file beside it).
import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { del } from './delete.ts';
import { addRule } from './addRule.ts';
import { updateRule } from './updateRule.ts';
import { deleteRule } from './deleteRule.ts';
import { setMode } from './setMode.ts';

export const securityGroupRouter = router({
  list,
  create,
  update,
  delete: del,
  addRule,
  updateRule,
  deleteRule,
  setMode,
});
