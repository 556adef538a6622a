import { z } from 'zod';
import { capabilitiesInput } from '../../services/identityShapes.ts';
import { text } from '../../../contract/primitives.ts';

export const enrollInput = z.strictObject({
  token: text(256).min(1),
  agentVersion: text(64).trim().min(1).optional(),
  capabilities: capabilitiesInput.optional(),
});
/** `credential` is shown here once: the agent keeps it and sends `Authorization: Bearer <credential>`. */
export const enrollOutput = z.object({ hostId: z.string(), hostName: z.string(), credential: z.string() });
