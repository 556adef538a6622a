import { adminProcedure } from '../../trpc/init.ts';
import { createUser } from '../../identity/users.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = adminProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createUser({ db: ctx.db, actor: ctx.actor, ...input }));
