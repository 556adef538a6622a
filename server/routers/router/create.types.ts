import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, nameInput, routerView } from '../../farms/farmShapes.ts';
import { routerInterfaceSpec } from './interface.types.ts';

export const createInput = z.strictObject({
  farmId: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput,
  hostId: idInput.nullable().optional(),
  interfaces: z.array(z.strictObject(routerInterfaceSpec)).max(64).optional(),
});
export const createOutput = mutationOf('router', routerView);
