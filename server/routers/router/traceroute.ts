// Starts a traceroute from a deployed router (ICMP echo with TTL 1, 2, …).
// It sends traffic, so it is a mutation; router.probe streams each hop as
// soon as it answers or times out, then a summary. Viewers may.
import { viewerProcedure } from '../../trpc/init.ts';
import { startTraceroute } from '../../control/routerManager.ts';
import { tracerouteInput, tracerouteOutput } from './traceroute.types.ts';

export const traceroute = viewerProcedure
  .input(tracerouteInput)
  .output(tracerouteOutput)
  .mutation(({ ctx, input }) => startTraceroute({ db: ctx.db, actor: ctx.actor, ...input }));
