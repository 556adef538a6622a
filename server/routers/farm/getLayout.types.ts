import { z } from 'zod';
import { idInput } from '../../farms/farmShapes.ts';
import { positionSchema } from '../../farms/farmDocument.ts';

export const getLayoutInput = z.strictObject({ farmId: idInput });
export const layoutView = z.object({
  farmId: z.string(),
  positions: z.record(z.string(), positionSchema),
  updatedAt: z.date().nullable(),
});
export const getLayoutOutput = layoutView;
