import { z } from 'zod';
import { farmDetailView, idInput } from '../../farms/farmShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = farmDetailView;
