// The agent's one long-lived stream: its current desired state, then each
// new generation (SSE; tracked ids let a reconnecting agent resume). An
// agent's request is usually answered by the lean path of this stream
// (server/serve/leanDesired.ts), the same stream without tRPC's per-message
// work; this procedure answers whatever that path does not take.
import { tracked } from '@trpc/server';
import { hostProcedure, toTRPCError } from '../../trpc/init.ts';
import { desiredUpdates } from '../../control/agentLink.ts';
import { desiredInput, desiredOutput, resumeFrom } from './desired.types.ts';

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
