import { authedProcedure } from '../../trpc/init.ts';
import { changePassword as change } from '../../identity/sessions.ts';
import { changePasswordInput, changePasswordOutput } from './changePassword.types.ts';

export const changePassword = authedProcedure
  .input(changePasswordInput)
  .output(changePasswordOutput)
  .mutation(({ ctx, input }) => change({ db: ctx.db, actor: ctx.actor, ...input }));
