import { z } from 'zod';
import { userView } from '../../services/identityShapes.ts';

// No pattern check on the username here: a malformed name is simply a wrong
// one, answered like any other.
export const loginInput = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});
export const loginOutput = z.object({ user: userView });
