import { z } from 'zod';
import { pingCount, pingInterval, probeTarget, probeTimeout } from '../../../contract/commands.ts';
import { PING_DEFAULT_COUNT, PING_DEFAULT_INTERVAL_MS, PROBE_DEFAULT_TIMEOUT_MS } from '../../../contract/limits.ts';
import { idInput } from '../../farms/farmShapes.ts';

export const pingInput = z.strictObject({
  /** The router (its intent id, as router.get takes). */
  id: idInput,
  target: probeTarget,
  count: pingCount.default(PING_DEFAULT_COUNT),
  intervalMs: pingInterval.default(PING_DEFAULT_INTERVAL_MS),
  /** How long to wait for each reply. */
  timeoutMs: probeTimeout.default(PROBE_DEFAULT_TIMEOUT_MS),
});
/** The probe started; router.probe streams its answers. */
export const probeStartedView = z.object({
  probeId: z.string(),
  kind: z.enum(['router.ping', 'router.traceroute']),
  expiresAt: z.date(),
});
export const pingOutput = probeStartedView;
