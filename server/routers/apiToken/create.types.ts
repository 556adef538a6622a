import { z } from 'zod';
import { apiTokenView, roleInput } from '../../identity/identityShapes.ts';
import { int32, text } from '../../../contract/primitives.ts';

export const createInput = z.strictObject({
  name: text(64).trim().min(1),
  /** At most the caller's own role. */
  role: roleInput,
  /** Omitted: the token does not expire (revoke it when done). */
  expiresInDays: int32().min(1).max(3650).optional(),
});
/** `token` is shown here once and never again. */
export const createOutput = z.object({ token: z.string(), apiToken: apiTokenView });
