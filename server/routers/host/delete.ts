import { adminProcedure } from '../../trpc/init.ts';
import { deleteHost } from '../../hosts/hosts.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const remove = adminProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteHost({ db: ctx.db, actor: ctx.actor, id: input.id }));
