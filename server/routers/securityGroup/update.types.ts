import { z } from 'zod';
import { descriptionInput, expectedRevisionInput, idInput, mutationOf, nameInput, securityGroupView } from '../../farms/farmShapes.ts';

export const updateInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput.optional(),
  description: descriptionInput.optional(),
});
export const updateOutput = mutationOf('securityGroup', securityGroupView);
