import { z } from 'zod';
import { capabilitiesInput } from '../../services/identityShapes.ts';

export const enrollInput = z.strictObject({
  token: z.string().min(1).max(256),
  agentVersion: z.string().trim().min(1).max(64).optional(),
  capabilities: capabilitiesInput.optional(),
});
/** `credential` is shown here once: the agent keeps it and sends `Authorization: Bearer <credential>`. */
export const enrollOutput = z.object({ hostId: z.string(), hostName: z.string(), credential: z.string() });
