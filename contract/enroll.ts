// Enrollment (`host.enroll`): an agent trades the one-time token an admin
// created for its host credential, which it sends as `Authorization: Bearer`
// from then on. The prefixes tell the kinds of secret apart at a glance (and
// let secret scanners find them); neither value is ever logged.
import { z } from 'zod';
import { AGENT_VERSION_MAX_CHARS } from './limits.ts';
import { capabilitiesSchema } from './report.ts';
import { text } from './primitives.ts';

export const ENROLLMENT_TOKEN_PREFIX = 'sude_';
export const HOST_CREDENTIAL_PREFIX = 'sudh_';

export const enrollRequestSchema = z.strictObject({
  token: text(256).min(1),
  agentVersion: text(AGENT_VERSION_MAX_CHARS).trim().min(1).optional(),
  capabilities: capabilitiesSchema.optional(),
});

/** `credential` is shown this once. Open: an agent keeps working when a newer console says more. */
export const enrollAnswerSchema = z.looseObject({
  hostId: z.string().min(1),
  hostName: z.string().min(1),
  credential: z.string().startsWith(HOST_CREDENTIAL_PREFIX, { message: `must start with ${HOST_CREDENTIAL_PREFIX}` }),
});
