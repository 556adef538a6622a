import { z } from 'zod';
import { planView } from '../../services/controlShapes.ts';
import { idInput } from '../../services/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

export const planInput = z.strictObject({
  id: idInput,
  /** A stored revision to plan; omitted: the farm's current intent. */
  revision: int32().min(1).optional(),
});
export const planOutput = planView;
