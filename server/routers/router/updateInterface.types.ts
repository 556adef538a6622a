import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, routerInterfaceView } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

export const updateInterfaceInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  ip: addressInput.optional(),
  prefixLen: int32().optional(),
  mac: addressInput.optional(),
  rip: z.boolean().optional(),
});
export const updateInterfaceOutput = mutationOf('interface', routerInterfaceView);
