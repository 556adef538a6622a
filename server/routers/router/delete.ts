// Deletes a router.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteRouter } from '../../farms/routers.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const del = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteRouter({ db: ctx.db, actor: ctx.actor, ...input }));
