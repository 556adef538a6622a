// Ping from a deployed router's own IP stack; every reply, timeout or ICMP
// error is streamed as it happens, then a summary. Viewers may (see
// server/services/routerManager.ts).
import { tracked } from '@trpc/server';
import { toTRPCError, viewerProcedure } from '../../trpc/init.ts';
import { pingFromRouter } from '../../services/routerManager.ts';
import { pingInput, pingOutput } from './ping.types.ts';

export const ping = viewerProcedure.input(pingInput).subscription(async function* ({ ctx, input, signal }) {
  try {
    for await (const e of pingFromRouter({ db: ctx.db, actor: ctx.actor, ...input, signal })) yield tracked(e.eventId, pingOutput.parse(e.event));
  } catch (err) {
    throw toTRPCError(err);
  }
});
