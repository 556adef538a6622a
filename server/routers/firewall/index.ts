// firewall.* procedures: this file only maps names (one procedure per file beside it).
import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { get } from './get.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { del } from './delete.ts';
import { addInterface } from './addInterface.ts';
import { removeInterface } from './removeInterface.ts';
import { setRules } from './setRules.ts';
import { moveRule } from './moveRule.ts';
import { inspect } from './inspect.ts';

export const firewallRouter = router({
  list,
  get,
  create,
  update,
  delete: del,
  addInterface,
  removeInterface,
  setRules,
  moveRule,
  inspect,
});
