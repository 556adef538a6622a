import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, securityGroupView } from '../../farms/farmShapes.ts';

export const deleteRuleInput = z.strictObject({ id: idInput, expectedRevision: expectedRevisionInput });
export const deleteRuleOutput = mutationOf('securityGroup', securityGroupView);
