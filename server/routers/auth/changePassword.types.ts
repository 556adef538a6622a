import { z } from 'zod';
import { passwordInput } from '../../services/identityShapes.ts';

export const changePasswordInput = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: passwordInput,
});
export const changePasswordOutput = z.object({ ok: z.literal(true) });
