import { z } from 'zod';
import { deployResultView, waitInput } from '../../services/controlShapes.ts';
import { expectedRevisionInput, idInput } from '../../services/farmShapes.ts';

export const deployInput = z.strictObject({
  id: idInput,
  /** A stored revision to deploy (e.g. to roll back); omitted: the current intent. */
  revision: z.int().min(1).optional(),
  /** With the current intent: refuse (CONFLICT) if the farm moved past the revision the caller saw. */
  expectedRevision: expectedRevisionInput.optional(),
  ...waitInput,
});
export const deployOutput = deployResultView;
