import { z } from 'zod';
import { hostView, idInput } from '../../services/identityShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = hostView;
