import { z } from 'zod';
import {
  pingEvent, PING_MAX_COUNT, PING_MAX_INTERVAL_MS, PING_MIN_INTERVAL_MS, PROBE_MAX_TIMEOUT_MS, PROBE_MIN_TIMEOUT_MS, targetInput,
} from '../../services/agentCommandShapes.ts';
import { idInput } from '../../services/farmShapes.ts';
import { int32, text } from '../../../contract/primitives.ts';

export const pingInput = z.strictObject({
  /** The router (its intent id, as router.get takes). */
  id: idInput,
  target: targetInput,
  count: int32().min(1).max(PING_MAX_COUNT).default(4),
  intervalMs: int32().min(PING_MIN_INTERVAL_MS).max(PING_MAX_INTERVAL_MS).default(1_000),
  /** How long to wait for each reply. */
  timeoutMs: int32().min(PROBE_MIN_TIMEOUT_MS).max(PROBE_MAX_TIMEOUT_MS).default(1_000),
  /** Set by tRPC on reconnect (`<command id>:<seq>`): the same ping resumes after that event. */
  lastEventId: text(64).nullish(),
});
/** Each value the subscription yields (inside `tracked('<command id>:<seq>', …)`); the summary comes last. */
export const pingOutput = pingEvent;
