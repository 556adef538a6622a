import { authedProcedure } from '../../trpc/init.ts';
import { revokeApiToken } from '../../identity/apiTokens.ts';
import { revokeInput, revokeOutput } from './revoke.types.ts';

export const revoke = authedProcedure
  .input(revokeInput)
  .output(revokeOutput)
  .mutation(({ ctx, input }) => revokeApiToken({ db: ctx.db, actor: ctx.actor, id: input.id }));
