import { z } from 'zod';
import { farmDetailView, idInput } from '../../services/farmShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = farmDetailView;
