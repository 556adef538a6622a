// Deletes a firewall.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteFirewall } from '../../farms/firewalls.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const del = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteFirewall({ db: ctx.db, actor: ctx.actor, ...input }));
