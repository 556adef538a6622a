import { z } from 'zod';
import { pageInput, pageOf, roleInput, userView } from '../../identity/identityShapes.ts';

export const listInput = z.strictObject({ ...pageInput, role: roleInput.optional(), disabled: z.boolean().optional() }).default({ limit: 50 });
export const listOutput = pageOf(userView);
