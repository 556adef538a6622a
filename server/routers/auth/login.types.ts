import { z } from 'zod';
import { userView } from '../../identity/identityShapes.ts';
import { text } from '../../../contract/primitives.ts';

// No pattern check on the username here: a malformed name is simply a wrong
// one, answered like any other.
export const loginInput = z.strictObject({
  username: text(64).min(1),
  password: text(1024).min(1),
});
export const loginOutput = z.object({ user: userView });
