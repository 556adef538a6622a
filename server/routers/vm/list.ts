// The farm's vms, oldest first.
import { viewerProcedure } from '../../trpc/init.ts';
import { listVms } from '../../farms/vms.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = viewerProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listVms({ db: ctx.db, actor: ctx.actor, ...input }));
