import { z } from 'zod';
import { apiTokenView, pageInput, pageOf } from '../../identity/identityShapes.ts';

export const listInput = z.strictObject({ ...pageInput, includeRevoked: z.boolean().optional() }).default({ limit: 50 });
export const listOutput = pageOf(apiTokenView);
