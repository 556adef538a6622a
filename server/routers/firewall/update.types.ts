import { z } from 'zod';
import { actionInput, expectedRevisionInput, firewallView, idInput, mutationOf, nameInput } from '../../farms/farmShapes.ts';

export const updateInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput.optional(),
  hostId: idInput.nullable().optional(),
  defaultPolicy: actionInput.optional(),
});
export const updateOutput = mutationOf('firewall', firewallView);
