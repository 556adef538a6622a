// Deletes a farm and everything in it; refused while it is deployed.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteFarm } from '../../farms/farms.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const del = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteFarm({ db: ctx.db, actor: ctx.actor, ...input }));
