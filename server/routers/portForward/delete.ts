// Removes a port forward.
import { operatorProcedure } from '../../trpc/init.ts';
import { deletePortForward } from '../../farms/externalLegs.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const remove = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deletePortForward({ db: ctx.db, actor: ctx.actor, ...input }));
