// One vm.
import { viewerProcedure } from '../../trpc/init.ts';
import { getVm } from '../../farms/vms.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = viewerProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getVm({ db: ctx.db, actor: ctx.actor, ...input }));
