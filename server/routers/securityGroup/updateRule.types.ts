import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, securityGroupView } from '../../farms/farmShapes.ts';
import { ruleFields } from './rule.types.ts';

export const updateRuleInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  ...ruleFields,
  direction: ruleFields.direction.optional(),
});
export const updateRuleOutput = mutationOf('securityGroup', securityGroupView);
