// A deployed router's forwarding table only (connected, static and RIP routes), live from its agent.
import { viewerProcedure } from '../../trpc/init.ts';
import { routerFib } from '../../control/routerManager.ts';
import { fibInput, fibOutput } from './fib.types.ts';

export const fib = viewerProcedure
  .input(fibInput)
  .output(fibOutput)
  .query(({ ctx, input }) => routerFib({ db: ctx.db, actor: ctx.actor, id: input.id }));
