import { z } from 'zod';
import { passwordInput } from '../../identity/identityShapes.ts';
import { text } from '../../../contract/primitives.ts';

export const changePasswordInput = z.strictObject({
  currentPassword: text(1024).min(1),
  newPassword: passwordInput,
});
export const changePasswordOutput = z.object({ ok: z.literal(true) });
