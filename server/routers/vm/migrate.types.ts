import { z } from 'zod';
import { deployResultView, waitInput } from '../../control/controlShapes.ts';
import { expectedRevisionInput, idInput, vmView } from '../../farms/farmShapes.ts';

export const migrateInput = z.strictObject({
  id: idInput,
  /** The host to move the VM to. */
  hostId: idInput,
  expectedRevision: expectedRevisionInput,
  ...waitInput,
});
export const migrateOutput = deployResultView.extend({
  farmRevision: z.int(),
  vm: vmView,
  /** Null when the farm is not deployed: only the placement changed. */
  deployment: deployResultView.shape.deployment.nullable(),
  progress: deployResultView.shape.progress.nullable(),
});
