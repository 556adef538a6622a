import { z } from 'zod';
import { pingCount, pingEvent, pingInterval, probeTarget, probeTimeout } from '../../../contract/commands.ts';
import { PING_DEFAULT_COUNT, PING_DEFAULT_INTERVAL_MS, PROBE_DEFAULT_TIMEOUT_MS } from '../../../contract/limits.ts';
import { idInput } from '../../services/farmShapes.ts';

export const pingInput = z.strictObject({
  /** The router (its intent id, as router.get takes). */
  id: idInput,
  target: probeTarget,
  count: pingCount.default(PING_DEFAULT_COUNT),
  intervalMs: pingInterval.default(PING_DEFAULT_INTERVAL_MS),
  /** How long to wait for each reply. */
  timeoutMs: probeTimeout.default(PROBE_DEFAULT_TIMEOUT_MS),
  /** Set by tRPC on reconnect (`<command id>:<seq>`): the same ping resumes after that event. */
  lastEventId: z.string().max(64).nullish(),
});
/** Each value the subscription yields (inside `tracked('<command id>:<seq>', …)`); the summary comes last. */
export const pingOutput = pingEvent;
