import { z } from 'zod';
import { apiTokenView, roleInput } from '../../services/identityShapes.ts';

export const createInput = z.strictObject({
  name: z.string().trim().min(1).max(64),
  /** At most the caller's own role. */
  role: roleInput,
  /** Omitted: the token does not expire (revoke it when done). */
  expiresInDays: z.int().min(1).max(3650).optional(),
});
/** `token` is shown here once and never again. */
export const createOutput = z.object({ token: z.string(), apiToken: apiTokenView });
