import { z } from 'zod';
import { descriptionInput, farmDetailView, nameInput, securityGroupModeInput } from '../../farms/farmShapes.ts';

export const createInput = z.strictObject({
  name: nameInput,
  description: descriptionInput.optional(),
  /** Omitted: `default` (a group named default that new VIFs join; docs/security-groups.md). */
  securityGroupMode: securityGroupModeInput.optional(),
});
export const createOutput = farmDetailView;
