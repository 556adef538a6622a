import { z } from 'zod';
import { int32 } from '../../../contract/primitives.ts';
import { PROBE_MAX_TIMEOUT_MS, PROBE_MIN_TIMEOUT_MS, targetInput, TRACE_MAX_HOPS } from '../../services/agentCommandShapes.ts';
import { idInput } from '../../services/farmShapes.ts';
import { probeStartedView } from './ping.types.ts';

export const tracerouteInput = z.strictObject({
  /** The router (its intent id, as router.get takes). */
  id: idInput,
  target: targetInput,
  maxHops: int32().min(1).max(TRACE_MAX_HOPS).default(TRACE_MAX_HOPS),
  /** How long to wait for each hop's answer. */
  timeoutMs: int32().min(PROBE_MIN_TIMEOUT_MS).max(PROBE_MAX_TIMEOUT_MS).default(1_000),
});
/** The probe started; router.probe streams its hops. */
export const tracerouteOutput = probeStartedView;
