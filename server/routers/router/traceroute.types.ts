import { z } from 'zod';
import { PROBE_MAX_TIMEOUT_MS, PROBE_MIN_TIMEOUT_MS, targetInput, traceEvent, TRACE_MAX_HOPS } from '../../services/agentCommandShapes.ts';
import { idInput } from '../../services/farmShapes.ts';
import { int32, text } from '../../../contract/primitives.ts';

export const tracerouteInput = z.strictObject({
  /** The router (its intent id, as router.get takes). */
  id: idInput,
  target: targetInput,
  maxHops: int32().min(1).max(TRACE_MAX_HOPS).default(TRACE_MAX_HOPS),
  /** How long to wait for each hop's answer. */
  timeoutMs: int32().min(PROBE_MIN_TIMEOUT_MS).max(PROBE_MAX_TIMEOUT_MS).default(1_000),
  /** Set by tRPC on reconnect (`<command id>:<seq>`): the same trace resumes after that event. */
  lastEventId: text(64).nullish(),
});
/** Each value the subscription yields (inside `tracked('<command id>:<seq>', …)`); the summary comes last. */
export const tracerouteOutput = traceEvent;
