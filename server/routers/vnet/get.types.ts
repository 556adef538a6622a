import { z } from 'zod';
import { idInput, vnetView } from '../../services/farmShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = vnetView;
