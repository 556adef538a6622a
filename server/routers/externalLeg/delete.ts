// Detaches the node from the external network; its addresses go back to the pool.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteExternalLeg } from '../../farms/externalLegs.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const remove = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteExternalLeg({ db: ctx.db, actor: ctx.actor, ...input }));
