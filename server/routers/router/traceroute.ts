// Traceroute from a deployed router (ICMP echo with TTL 1, 2, …): each hop is
// streamed as soon as it answers or times out, then a summary. Viewers may.
import { tracked } from '@trpc/server';
import { toTRPCError, viewerProcedure } from '../../trpc/init.ts';
import { tracerouteFromRouter } from '../../services/routerManager.ts';
import { tracerouteInput, tracerouteOutput } from './traceroute.types.ts';

export const traceroute = viewerProcedure.input(tracerouteInput).subscription(async function* ({ ctx, input, signal }) {
  try {
    for await (const e of tracerouteFromRouter({ db: ctx.db, actor: ctx.actor, ...input, signal })) {
      yield tracked(e.eventId, tracerouteOutput.parse(e.event));
    }
  } catch (err) {
    throw toTRPCError(err);
  }
});
