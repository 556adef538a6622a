import { adminProcedure } from '../../trpc/init.ts';
import { updateUser } from '../../identity/users.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = adminProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateUser({ db: ctx.db, actor: ctx.actor, ...input }));
