import { z } from 'zod';
import { int32 } from '../../../contract/primitives.ts';
import {
  PING_MAX_COUNT, PING_MAX_INTERVAL_MS, PING_MIN_INTERVAL_MS, PROBE_MAX_TIMEOUT_MS, PROBE_MIN_TIMEOUT_MS, targetInput,
} from '../../services/agentCommandShapes.ts';
import { idInput } from '../../services/farmShapes.ts';

export const pingInput = z.strictObject({
  /** The router (its intent id, as router.get takes). */
  id: idInput,
  target: targetInput,
  count: int32().min(1).max(PING_MAX_COUNT).default(4),
  intervalMs: int32().min(PING_MIN_INTERVAL_MS).max(PING_MAX_INTERVAL_MS).default(1_000),
  /** How long to wait for each reply. */
  timeoutMs: int32().min(PROBE_MIN_TIMEOUT_MS).max(PROBE_MAX_TIMEOUT_MS).default(1_000),
});
/** The probe started; router.probe streams its answers. */
export const probeStartedView = z.object({
  probeId: z.string(),
  kind: z.enum(['router.ping', 'router.traceroute']),
  expiresAt: z.date(),
});
export const pingOutput = probeStartedView;
