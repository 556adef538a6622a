import { z } from 'zod';
import { idInput } from '../../identity/identityShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

export const createEnrollmentTokenInput = z.strictObject({
  id: idInput,
  /** Omitted: SOFTUDC_ENROLL_TTL_MINUTES (default 60). */
  expiresInMinutes: int32().min(1).max(7 * 24 * 60).optional(),
});
/** `enrollmentToken` is shown here once; earlier unused tokens of the host stop working. */
export const createEnrollmentTokenOutput = z.object({ hostId: z.string(), enrollmentToken: z.string(), expiresAt: z.date() });
