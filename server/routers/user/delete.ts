import { adminProcedure } from '../../trpc/init.ts';
import { deleteUser } from '../../identity/users.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const remove = adminProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteUser({ db: ctx.db, actor: ctx.actor, id: input.id }));
