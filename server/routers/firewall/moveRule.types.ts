import { z } from 'zod';
import { expectedRevisionInput, firewallView, idInput, mutationOf } from '../../services/farmShapes.ts';

export const moveRuleInput = z.strictObject({ id: idInput, expectedRevision: expectedRevisionInput, position: z.int() });
export const moveRuleOutput = mutationOf('firewall', firewallView);
