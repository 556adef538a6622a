// Deletes it; refused while a router or firewall of any farm has a leg on it.
import { adminProcedure } from '../../trpc/init.ts';
import { deleteExternalNetwork } from '../../hosts/externalNetworks.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const remove = adminProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteExternalNetwork({ db: ctx.db, actor: ctx.actor, id: input.id }));
