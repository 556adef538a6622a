import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, securityGroupView } from '../../farms/farmShapes.ts';
import { ruleFields } from './rule.types.ts';

export const addRuleInput = z.strictObject({ groupId: idInput, expectedRevision: expectedRevisionInput, ...ruleFields });
export const addRuleOutput = mutationOf('securityGroup', securityGroupView);
