import { z } from 'zod';
import { deployResultView, waitInput } from '../../control/controlShapes.ts';
import { expectedRevisionInput, idInput } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

export const deployInput = z.strictObject({
  id: idInput,
  /** A stored revision to deploy (e.g. to roll back); omitted: the current intent. */
  revision: int32().min(1).optional(),
  /** Refuse (CONFLICT) if the farm's intent moved past the revision the caller saw, with or without `revision`. */
  expectedRevision: expectedRevisionInput.optional(),
  ...waitInput,
});
export const deployOutput = deployResultView;
