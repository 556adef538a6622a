import { z } from 'zod';
import { descriptionInput, expectedRevisionInput, idInput, mutationOf, nameInput, securityGroupView } from '../../farms/farmShapes.ts';
import { RULES_MAX, securityRuleInput } from './rule.types.ts';

export const createInput = z.strictObject({
  farmId: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput,
  description: descriptionInput.optional(),
  rules: z.array(securityRuleInput).max(RULES_MAX).optional(),
});
export const createOutput = mutationOf('securityGroup', securityGroupView);
