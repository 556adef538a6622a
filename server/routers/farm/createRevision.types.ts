import { z } from 'zod';
import { idInput } from '../../farms/farmShapes.ts';

export const revisionSummaryView = z.object({
  id: z.string(),
  farmId: z.string(),
  revision: z.int(),
  createdById: z.string().nullable(),
  createdAt: z.date(),
});
export const createRevisionInput = z.strictObject({ farmId: idInput });
export const createRevisionOutput = revisionSummaryView;
