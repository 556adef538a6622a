import { z } from 'zod';
import { planView } from '../../control/controlShapes.ts';
import { idInput } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

export const planInput = z.strictObject({
  id: idInput,
  /** A stored revision to plan; omitted: the farm's current intent. */
  revision: int32().min(1).optional(),
});
export const planOutput = planView;
