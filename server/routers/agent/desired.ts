// The agent's one long-lived stream: its current desired state, then each
// new generation (SSE; tracked ids let a reconnecting agent resume).
import { tracked } from '@trpc/server';
import { hostProcedure, toTRPCError } from '../../trpc/init.ts';
import { desiredUpdates } from '../../control/agentLink.ts';
import { desiredInput, desiredOutput } from './desired.types.ts';

function resumeFrom(input: { lastGeneration?: number | undefined; lastEventId?: string | null | undefined }): number | undefined {
  const fromEvent = input.lastEventId ? Number(input.lastEventId) : NaN;
  return Number.isSafeInteger(fromEvent) && fromEvent >= 0 ? fromEvent : input.lastGeneration;
}

export const desired = hostProcedure.input(desiredInput).subscription(async function* ({ ctx, input, signal }) {
  try {
    const updates = desiredUpdates({ db: ctx.db, actor: ctx.actor, lastGeneration: resumeFrom(input), signal });
    for await (const d of updates) {
      // Checked against the contract, but the stored document is what goes out: a parse would fill
      // defaults, and nothing between the database and the agent may add, change or drop a field.
      desiredOutput.parse(d);
      yield tracked(String(d.generation), d);
    }
  } catch (err) {
    throw toTRPCError(err);
  }
});
