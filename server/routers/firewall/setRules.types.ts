import { z } from 'zod';
import { expectedRevisionInput, firewallView, idInput, mutationOf, ruleInput } from '../../farms/farmShapes.ts';
import { RULES_MAX } from './interface.types.ts';

export const setRulesInput = z.strictObject({
  firewallId: idInput,
  expectedRevision: expectedRevisionInput,
  rules: z.array(ruleInput).max(RULES_MAX),
});
export const setRulesOutput = mutationOf('firewall', firewallView);
