import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, nameInput, routerView } from '../../farms/farmShapes.ts';

export const updateInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput.optional(),
  hostId: idInput.nullable().optional(),
});
export const updateOutput = mutationOf('router', routerView);
