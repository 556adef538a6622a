import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, routerInterfaceView } from '../../services/farmShapes.ts';

export const updateInterfaceInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  ip: addressInput.optional(),
  prefixLen: z.int().optional(),
  mac: addressInput.optional(),
  rip: z.boolean().optional(),
});
export const updateInterfaceOutput = mutationOf('interface', routerInterfaceView);
