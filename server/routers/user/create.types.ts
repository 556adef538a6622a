import { z } from 'zod';
import { displayNameInput, passwordInput, roleInput, userView, usernameInput } from '../../identity/identityShapes.ts';

export const createInput = z.strictObject({
  username: usernameInput,
  password: passwordInput,
  role: roleInput,
  displayName: displayNameInput.optional(),
});
export const createOutput = userView;
