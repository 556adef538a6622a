import { z } from 'zod';
import { descriptionInput, farmSummaryView, nameInput } from '../../services/farmShapes.ts';

export const createInput = z.strictObject({ name: nameInput, description: descriptionInput.optional() });
export const createOutput = farmSummaryView;
