// A deployed router's live view from the agent running it: interfaces,
// forwarding table, ARP caches, counters and RIP state. Viewers may.
import { viewerProcedure } from '../../trpc/init.ts';
import { inspectRouter } from '../../control/routerManager.ts';
import { inspectInput, inspectOutput } from './inspect.types.ts';

export const inspect = viewerProcedure
  .input(inspectInput)
  .output(inspectOutput)
  .query(({ ctx, input }) => inspectRouter({ db: ctx.db, actor: ctx.actor, id: input.id }));
