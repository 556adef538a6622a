// A deployed firewall's live view from the agent running it: rules with hit
// counters, default-policy hits, a summary of the connection table,
// interfaces, forwarding table, ARP caches and counters. Viewers may.
import { viewerProcedure } from '../../trpc/init.ts';
import { inspectFirewall } from '../../control/routerManager.ts';
import { inspectInput, inspectOutput } from './inspect.types.ts';

export const inspect = viewerProcedure
  .input(inspectInput)
  .output(inspectOutput)
  .query(({ ctx, input }) => inspectFirewall({ db: ctx.db, actor: ctx.actor, id: input.id }));
