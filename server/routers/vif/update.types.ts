import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, vifView } from '../../farms/farmShapes.ts';

export const updateInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  mac: addressInput.optional(),
  ip: addressInput.optional(),
});
export const updateOutput = mutationOf('vif', vifView);
