import { z } from 'zod';
import { hostView, idInput } from '../../identity/identityShapes.ts';

export const revokeCredentialInput = z.strictObject({ id: idInput });
export const revokeCredentialOutput = hostView;
