import { authedProcedure } from '../../trpc/init.ts';
import { me as whoAmI } from '../../identity/sessions.ts';
import { meOutput } from './me.types.ts';

export const me = authedProcedure.output(meOutput).query(({ ctx }) => whoAmI({ db: ctx.db, actor: ctx.actor }));
