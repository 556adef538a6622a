import { z } from 'zod';
import { apiTokenView, idInput } from '../../identity/identityShapes.ts';

export const revokeInput = z.strictObject({ id: idInput });
export const revokeOutput = apiTokenView;
