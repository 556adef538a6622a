// router.* procedures: this file only maps names (one procedure per file beside it).
import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { get } from './get.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { del } from './delete.ts';
import { addInterface } from './addInterface.ts';
import { updateInterface } from './updateInterface.ts';
import { removeInterface } from './removeInterface.ts';
import { addStaticRoute } from './addStaticRoute.ts';
import { removeStaticRoute } from './removeStaticRoute.ts';
import { link } from './link.ts';
import { unlink } from './unlink.ts';
import { inspect } from './inspect.ts';
import { fib } from './fib.ts';
import { ping } from './ping.ts';
import { traceroute } from './traceroute.ts';
import { probe } from './probe.ts';

export const routerRouter = router({
  list,
  get,
  create,
  update,
  delete: del,
  addInterface,
  updateInterface,
  removeInterface,
  addStaticRoute,
  removeStaticRoute,
  link,
  unlink,
  inspect,
  fib,
  ping,
  traceroute,
  probe,
});
