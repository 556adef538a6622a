import { z } from 'zod';
import { OBJECT_LIMITS } from '../../limits.ts';
import { expectedRevisionInput, idInput, mutationOf, nameInput, routerView } from '../../farms/farmShapes.ts';
import { routerInterfaceSpec } from './interface.types.ts';

export const createInput = z.strictObject({
  farmId: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput,
  hostId: idInput.nullable().optional(),
  interfaces: z.array(z.strictObject(routerInterfaceSpec)).max(OBJECT_LIMITS.interfacesPerNode).optional(),
});
export const createOutput = mutationOf('router', routerView);
