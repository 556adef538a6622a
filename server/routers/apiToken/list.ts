import { authedProcedure } from '../../trpc/init.ts';
import { listApiTokens } from '../../identity/apiTokens.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = authedProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listApiTokens({ db: ctx.db, actor: ctx.actor, ...input }));
