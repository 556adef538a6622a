// vnet.* procedures: this file only maps names (one procedure per file beside it).
import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { get } from './get.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { del } from './delete.ts';
import { rotateKey } from './rotateKey.ts';
import { setVlan } from './setVlan.ts';
import { removeVlan } from './removeVlan.ts';

export const vnetRouter = router({
  list,
  get,
  create,
  update,
  delete: del,
  rotateKey,
  setVlan,
  removeVlan,
});
