// One streamed answer of the agent to a command of its own host.
import { hostProcedure } from '../../trpc/init.ts';
import { handleCommandResult } from '../../control/agentCommands.ts';
import { commandResultInput, commandResultOutput } from './commandResult.types.ts';

export const commandResult = hostProcedure
  .input(commandResultInput)
  .output(commandResultOutput)
  .mutation(({ ctx, input }) => handleCommandResult({ db: ctx.db, actor: ctx.actor, result: input }));
