import { z } from 'zod';
import { hostView, idInput } from '../../identity/identityShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = hostView;
