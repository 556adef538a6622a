import { z } from 'zod';
import { idInput, vmView } from '../../farms/farmShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = vmView;
