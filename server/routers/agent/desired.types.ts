import { z } from 'zod';
import { desiredMessageSchema } from '../../../contract/hostState.ts';
import { int32, text } from '../../../contract/primitives.ts';

// No host id: the stream is always the credential's own host.
export const desiredInput = z
  .object({
    /** The generation the agent has applied (persisted across restarts). */
    lastGeneration: int32().min(0).optional(),
    /** Set by tRPC on reconnect from the last `tracked` id; takes precedence. */
    lastEventId: text(32).nullish(),
  })
  .default({});
/** Each value the subscription yields (wrapped in `tracked(String(generation), …)`): the contract's message. */
export const desiredOutput = desiredMessageSchema;

/** The generation the stream resumes after: the last event id (a reconnect), else the agent's lastGeneration. */
export function resumeFrom(input: { lastGeneration?: number | undefined; lastEventId?: string | null | undefined }): number | undefined {
  const fromEvent = input.lastEventId ? Number(input.lastEventId) : NaN;
  return Number.isSafeInteger(fromEvent) && fromEvent >= 0 ? fromEvent : input.lastGeneration;
}
