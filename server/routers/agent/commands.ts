// The agent's command stream (router manager): commands for its own host
// only, each given to one stream, as they are queued (SSE, beside agent.desired).
import { tracked } from '@trpc/server';
import { hostProcedure, toTRPCError } from '../../trpc/init.ts';
import { commandStream } from '../../control/agentCommands.ts';
import { commandsInput, commandsOutput } from './commands.types.ts';

export const commands = hostProcedure.input(commandsInput).subscription(async function* ({ ctx, signal }) {
  try {
    for await (const c of commandStream({ db: ctx.db, actor: ctx.actor, signal })) yield tracked(c.id, commandsOutput.parse(c));
  } catch (err) {
    throw toTRPCError(err);
  }
});
