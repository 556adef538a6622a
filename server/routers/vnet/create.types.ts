import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, nameInput, securityInput, vnetView } from '../../services/farmShapes.ts';

export const createInput = z.strictObject({
  farmId: idInput,
  expectedRevision: expectedRevisionInput,
  vnid: z.int().optional(),
  name: nameInput,
  cidr: addressInput,
  /** 576–9000, default 1400. */
  mtu: z.int().optional(),
  security: securityInput.optional(),
});
export const createOutput = mutationOf('vnet', vnetView);
