import { publicProcedure } from '../../trpc/init.ts';
import { logout as signOut } from '../../identity/sessions.ts';
import { clearSessionCookie } from '../../auth/cookies.ts';
import { logoutOutput } from './logout.types.ts';

// Public on purpose: a browser whose session already expired must still be
// able to drop its cookie.
export const logout = publicProcedure.output(logoutOutput).mutation(async ({ ctx }) => {
  const result = await signOut({ db: ctx.db, actor: ctx.actor });
  ctx.resHeaders?.append('Set-Cookie', clearSessionCookie(ctx.secure ?? false));
  return result;
});
