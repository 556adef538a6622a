import { adminProcedure } from '../../trpc/init.ts';
import { getUser } from '../../identity/users.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = adminProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getUser({ db: ctx.db, actor: ctx.actor, id: input.id }));
