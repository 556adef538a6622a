import { z } from 'zod';
import { OBJECT_LIMITS } from '../../limits.ts';
import { actionInput, expectedRevisionInput, firewallView, idInput, mutationOf, nameInput, ruleInput } from '../../farms/farmShapes.ts';
import { firewallInterfaceSpec, RULES_MAX } from './interface.types.ts';

export const createInput = z.strictObject({
  farmId: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput,
  hostId: idInput.nullable().optional(),
  defaultPolicy: actionInput.optional(),
  interfaces: z.array(z.strictObject(firewallInterfaceSpec)).max(OBJECT_LIMITS.interfacesPerNode).optional(),
  rules: z.array(ruleInput).max(RULES_MAX).optional(),
});
export const createOutput = mutationOf('firewall', firewallView);
