import { z } from 'zod';
import { agentCommandSchema } from '../../../contract/commands.ts';
import { text } from '../../../contract/primitives.ts';

// No host id: the stream is always the credential's own host.
export const commandsInput = z
  .strictObject({
    /** Set by tRPC on reconnect; commands are claimed when sent, so nothing is replayed from it. */
    lastEventId: text(64).nullish(),
  })
  .default({});
/** Each value the subscription yields (wrapped in `tracked(id, …)`). */
export const commandsOutput = agentCommandSchema;
