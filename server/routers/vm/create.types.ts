import { z } from 'zod';
import { OBJECT_LIMITS } from '../../limits.ts';
import { addressInput, bandwidthInput, burstInput, expectedRevisionInput, guestKindInput, idInput, mutationOf, nameInput, vmView } from '../../farms/farmShapes.ts';

export const vifSpec = z.strictObject({ vnetId: idInput, mac: addressInput.optional(), ip: addressInput.optional() });
export const createInput = z.strictObject({
  farmId: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput,
  hostId: idInput.nullable().optional(),
  guestKind: guestKindInput.optional(),
  bandwidthMbps: bandwidthInput.nullable().optional(),
  burstKb: burstInput.nullable().optional(),
  vifs: z.array(vifSpec).max(OBJECT_LIMITS.vifsPerVm).optional(),
});
export const createOutput = mutationOf('vm', vmView);
