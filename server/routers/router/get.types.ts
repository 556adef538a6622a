import { z } from 'zod';
import { idInput, routerView } from '../../services/farmShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = routerView;
