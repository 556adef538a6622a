import { z } from 'zod';
import { idInput, vnetView } from '../../farms/farmShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = vnetView;
