import { z } from 'zod';
import { idInput } from '../../services/farmShapes.ts';
import { positionSchema } from '../../services/farmDocument.ts';

export const getLayoutInput = z.strictObject({ farmId: idInput });
export const layoutView = z.object({
  farmId: z.string(),
  positions: z.record(z.string(), positionSchema),
  updatedAt: z.date().nullable(),
});
export const getLayoutOutput = layoutView;
