import { z } from 'zod';
import { idInput, userView } from '../../identity/identityShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = userView;
