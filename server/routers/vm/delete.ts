// Deletes a vm.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteVm } from '../../farms/vms.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const del = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteVm({ db: ctx.db, actor: ctx.actor, ...input }));
