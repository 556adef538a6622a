import { publicProcedure } from '../../trpc/init.ts';
import { login as signIn } from '../../identity/sessions.ts';
import { serializeSessionCookie } from '../../auth/cookies.ts';
import { loginInput, loginOutput } from './login.types.ts';

export const login = publicProcedure
  .input(loginInput)
  .output(loginOutput)
  .mutation(async ({ ctx, input }) => {
    const result = await signIn({ db: ctx.db, username: input.username, password: input.password, clientIp: ctx.clientIp });
    ctx.resHeaders?.append(
      'Set-Cookie',
      serializeSessionCookie(result.sessionToken, { secure: ctx.secure ?? false, maxAgeSeconds: result.maxAgeSeconds }),
    );
    return { user: result.user };
  });
