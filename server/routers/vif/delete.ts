// Deletes a vif.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteVif } from '../../farms/vifs.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const del = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteVif({ db: ctx.db, actor: ctx.actor, ...input }));
