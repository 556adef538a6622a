import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, vifView } from '../../farms/farmShapes.ts';

export const createInput = z.strictObject({
  vmId: idInput,
  expectedRevision: expectedRevisionInput,
  vnetId: idInput,
  mac: addressInput.optional(),
  ip: addressInput.optional(),
});
export const createOutput = mutationOf('vif', vifView);
