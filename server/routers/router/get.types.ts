import { z } from 'zod';
import { idInput, routerView } from '../../farms/farmShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = routerView;
