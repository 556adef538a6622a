import { z } from 'zod';
import { displayNameInput, idInput, passwordInput, roleInput, userView } from '../../identity/identityShapes.ts';

/** `password` resets the user's password (and ends their sessions). */
export const updateInput = z.strictObject({
  id: idInput,
  role: roleInput.optional(),
  displayName: displayNameInput.optional(),
  disabled: z.boolean().optional(),
  password: passwordInput.optional(),
});
export const updateOutput = userView;
