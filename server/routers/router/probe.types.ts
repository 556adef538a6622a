import { z } from 'zod';
import { text } from '../../../contract/primitives.ts';
import { pingEvent, traceEvent } from '../../../contract/commands.ts';
import { idInput } from '../../farms/farmShapes.ts';

export const probeInput = z.strictObject({
  /** From router.ping or router.traceroute (the caller's own probes only). */
  probeId: idInput,
  /** Set by tRPC on reconnect (`<probe id>:<seq>`): the stream resumes after that answer. */
  lastEventId: text(64).nullish(),
});
/** Each value the subscription yields (inside `tracked('<probe id>:<seq>', …)`); the summary comes last. */
export const probeOutput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('router.ping'), event: pingEvent }),
  z.object({ kind: z.literal('router.traceroute'), event: traceEvent }),
]);
