import { z } from 'zod';
import { expectedRevisionInput, idInput, securityGroupModeInput, securityGroupView } from '../../farms/farmShapes.ts';

export const setModeInput = z.strictObject({ farmId: idInput, expectedRevision: expectedRevisionInput, mode: securityGroupModeInput });
export const setModeOutput = z.object({ farmRevision: z.int(), securityGroupMode: securityGroupModeInput, securityGroups: z.array(securityGroupView) });
