import { z } from 'zod';
import { probeTarget, probeTimeout, traceHops } from '../../../contract/commands.ts';
import { PROBE_DEFAULT_TIMEOUT_MS, TRACE_MAX_HOPS } from '../../../contract/limits.ts';
import { idInput } from '../../farms/farmShapes.ts';
import { probeStartedView } from './ping.types.ts';

export const tracerouteInput = z.strictObject({
  /** The router (its intent id, as router.get takes). */
  id: idInput,
  target: probeTarget,
  maxHops: traceHops.default(TRACE_MAX_HOPS),
  /** How long to wait for each hop's answer. */
  timeoutMs: probeTimeout.default(PROBE_DEFAULT_TIMEOUT_MS),
});
/** The probe started; router.probe streams its hops. */
export const tracerouteOutput = probeStartedView;
