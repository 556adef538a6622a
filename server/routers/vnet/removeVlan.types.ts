import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, vnetView } from '../../farms/farmShapes.ts';

export const removeVlanInput = z.strictObject({ id: idInput, expectedRevision: expectedRevisionInput, hostId: idInput });
export const removeVlanOutput = mutationOf('vnet', vnetView);
