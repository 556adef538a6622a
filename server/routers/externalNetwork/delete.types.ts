import { z } from 'zod';
import { idInput } from '../../identity/identityShapes.ts';

export const deleteInput = z.strictObject({ id: idInput });
export const deleteOutput = z.object({ id: z.string() });
