import { z } from 'zod';
import { expectedRevisionInput, firewallView, idInput, mutationOf } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

export const moveRuleInput = z.strictObject({ id: idInput, expectedRevision: expectedRevisionInput, position: int32() });
export const moveRuleOutput = mutationOf('firewall', firewallView);
