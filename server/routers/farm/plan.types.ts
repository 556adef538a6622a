import { z } from 'zod';
import { planView } from '../../services/controlShapes.ts';
import { idInput } from '../../services/farmShapes.ts';

export const planInput = z.strictObject({
  id: idInput,
  /** A stored revision to plan; omitted: the farm's current intent. */
  revision: z.int().min(1).optional(),
});
export const planOutput = planView;
