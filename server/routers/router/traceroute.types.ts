import { z } from 'zod';
import { probeTarget, probeTimeout, traceEvent, traceHops } from '../../../contract/commands.ts';
import { PROBE_DEFAULT_TIMEOUT_MS, TRACE_MAX_HOPS } from '../../../contract/limits.ts';
import { idInput } from '../../services/farmShapes.ts';

export const tracerouteInput = z.strictObject({
  /** The router (its intent id, as router.get takes). */
  id: idInput,
  target: probeTarget,
  maxHops: traceHops.default(TRACE_MAX_HOPS),
  /** How long to wait for each hop's answer. */
  timeoutMs: probeTimeout.default(PROBE_DEFAULT_TIMEOUT_MS),
  /** Set by tRPC on reconnect (`<command id>:<seq>`): the same trace resumes after that event. */
  lastEventId: z.string().max(64).nullish(),
});
/** Each value the subscription yields (inside `tracked('<command id>:<seq>', …)`); the summary comes last. */
export const tracerouteOutput = traceEvent;
