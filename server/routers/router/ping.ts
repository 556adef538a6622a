// Starts a ping from a deployed router's own IP stack. It sends traffic, so
// it is a mutation; router.probe streams each reply, timeout or ICMP error
// and the summary. Viewers may (see server/control/routerManager.ts).
import { viewerProcedure } from '../../trpc/init.ts';
import { startPing } from '../../control/routerManager.ts';
import { pingInput, pingOutput } from './ping.types.ts';

export const ping = viewerProcedure
  .input(pingInput)
  .output(pingOutput)
  .mutation(({ ctx, input }) => startPing({ db: ctx.db, actor: ctx.actor, ...input }));
