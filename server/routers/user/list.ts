import { adminProcedure } from '../../trpc/init.ts';
import { listUsers } from '../../identity/users.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = adminProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listUsers({ db: ctx.db, actor: ctx.actor, ...input }));
