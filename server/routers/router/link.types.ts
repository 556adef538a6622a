import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, routerLinkView } from '../../farms/farmShapes.ts';

export const linkInput = z.strictObject({
  expectedRevision: expectedRevisionInput,
  routerAId: idInput,
  routerBId: idInput,
  cidr: addressInput.optional(),
  ipA: addressInput.optional(),
  ipB: addressInput.optional(),
  rip: z.boolean().optional(),
});
export const linkOutput = mutationOf('link', routerLinkView);
