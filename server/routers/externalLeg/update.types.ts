import { z } from 'zod';
import { addressInput, expectedRevisionInput, externalLegView, idInput, mutationOf } from '../../farms/farmShapes.ts';

export const updateInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  ip: addressInput.optional(),
  snat: z.array(addressInput).max(1000).optional(),
});
export const updateOutput = mutationOf('leg', externalLegView);
