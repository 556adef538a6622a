import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, vifView } from '../../farms/farmShapes.ts';
import { SG_MAX_PER_VIF } from '../../../contract/limits.ts';

export const setSecurityGroupsInput = z.strictObject({
  vifId: idInput,
  expectedRevision: expectedRevisionInput,
  /** The VIF's groups, all of its farm; empty: the VIF is not filtered. */
  groupIds: z.array(idInput).max(SG_MAX_PER_VIF),
});
export const setSecurityGroupsOutput = mutationOf('vif', vifView);
