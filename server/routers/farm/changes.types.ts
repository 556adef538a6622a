import { z } from 'zod';
import { idInput } from '../../farms/farmShapes.ts';

export const changesInput = z.strictObject({ farmId: idInput });
/** The farm's state now, then after every change; `deleted: true` ends the stream. */
export const changesOutput = z.object({
  farmId: z.string(),
  revision: z.int().nullable(),
  deployedRevision: z.int().nullable(),
  deleted: z.boolean(),
});
