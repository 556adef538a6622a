// The answers of a ping or traceroute the caller started (router.ping,
// router.traceroute), streamed as the agent sends them; reading them changes
// nothing. Resumable with the last event id.
import { tracked } from '@trpc/server';
import { toTRPCError, viewerProcedure } from '../../trpc/init.ts';
import { followProbe } from '../../control/routerManager.ts';
import { probeInput, probeOutput } from './probe.types.ts';

export const probe = viewerProcedure.input(probeInput).subscription(async function* ({ ctx, input, signal }) {
  try {
    for await (const e of followProbe({ db: ctx.db, actor: ctx.actor, ...input, signal })) yield tracked(e.eventId, probeOutput.parse(e.event));
  } catch (err) {
    throw toTRPCError(err);
  }
});
