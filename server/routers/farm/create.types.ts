import { z } from 'zod';
import { descriptionInput, farmDetailView, nameInput } from '../../farms/farmShapes.ts';

export const createInput = z.strictObject({ name: nameInput, description: descriptionInput.optional() });
export const createOutput = farmDetailView;
