// Gives a floating IP back to the pool.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteFloatingIp } from '../../farms/externalLegs.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const remove = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteFloatingIp({ db: ctx.db, actor: ctx.actor, ...input }));
