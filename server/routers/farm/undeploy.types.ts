import { z } from 'zod';
import { deployResultView, waitInput } from '../../control/controlShapes.ts';
import { expectedRevisionInput, idInput } from '../../farms/farmShapes.ts';

export const undeployInput = z.strictObject({
  id: idInput,
  /** Refuse (CONFLICT) if the farm's intent moved past the revision the caller saw. */
  expectedRevision: expectedRevisionInput.optional(),
  ...waitInput,
});
export const undeployOutput = deployResultView;
