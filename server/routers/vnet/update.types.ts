import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, nameInput, securityInput, vnetView } from '../../services/farmShapes.ts';

export const updateInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  vnid: z.int().optional(),
  name: nameInput.optional(),
  cidr: addressInput.optional(),
  mtu: z.int().optional(),
  security: securityInput.optional(),
});
export const updateOutput = mutationOf('vnet', vnetView);
