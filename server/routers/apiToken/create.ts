import { authedProcedure } from '../../trpc/init.ts';
import { createApiToken } from '../../identity/apiTokens.ts';
import { createInput, createOutput } from './create.types.ts';

// Any signed-in user may make tokens for their own automation; the token's
// role never exceeds theirs, so a viewer's token can only read.
export const create = authedProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createApiToken({ db: ctx.db, actor: ctx.actor, ...input }));
