import { z } from 'zod';
import { deployResultView, waitInput } from '../../control/controlShapes.ts';
import { expectedRevisionInput, idInput, vmView } from '../../farms/farmShapes.ts';

export const migrateInput = z.strictObject({
  id: idInput,
  /** The host to move the VM to. */
  hostId: idInput,
  expectedRevision: expectedRevisionInput,
  /**
   * A live migration (TAP VMs of a deployed farm): the VM stays on its host
   * and the destination gets its VIFs incoming; the console finishes the
   * move when the destination reports the VM arrived (vm.cancelMigration
   * drops it). Default false: the VM moves at once.
   */
  live: z.boolean().optional(),
  ...waitInput,
});
export const cancelMigrationInput = z.strictObject({ id: idInput, ...waitInput });
export const retryMigrationInput = z.strictObject({ id: idInput });
/** The VM after the retry: moved when the destination had reported it there, else still moving (with `migrationError` if it failed again). */
export const retryMigrationOutput = z.strictObject({ vm: vmView });
export const migrateOutput = deployResultView.extend({
  farmRevision: z.int(),
  vm: vmView,
  /** Null when the farm is not deployed: only the placement changed. */
  deployment: deployResultView.shape.deployment.nullable(),
  progress: deployResultView.shape.progress.nullable(),
});
