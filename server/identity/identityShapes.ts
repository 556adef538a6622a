// The shapes of identities and infrastructure as the API shows them (tRPC
// outputs), plus the input pieces their procedures share. None of these
// carries a secret or a hash: services select only these fields.
import { z } from 'zod';
import { cursorInput, DEFAULT_LIMIT, MAX_LIMIT } from '../db/listPage.ts';
import { int32, text } from '../../contract/primitives.ts';

// ---- input pieces ----

export const idInput = z.guid();
export const roleInput = z.enum(['admin', 'operator', 'viewer']);
export const pageInput = {
  cursor: cursorInput.optional(),
  limit: int32().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
};
export const USERNAME_PATTERN = /^[a-z0-9._-]{3,64}$/;
export const usernameInput = text(64)
  .regex(USERNAME_PATTERN, 'must be 3 to 64 characters of a-z, 0-9, ".", "_" and "-"');
/** Length rules are checked by the services (12+); the cap only bounds scrypt's input. */
export const passwordInput = text(1024);
export const displayNameInput = text(128).trim();
/** Host names become agent and log identifiers: one DNS label. */
export const HOST_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const hostNameInput = text(63)
  .regex(HOST_NAME_PATTERN, 'must be 1 to 63 characters of a-z, 0-9 and "-", not starting or ending with "-"');
export const SEGMENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const segmentNameInput = text(63)
  .regex(SEGMENT_NAME_PATTERN, 'must be 1 to 63 characters: letters, digits, "_", "." and "-", starting with a letter or digit');
/** Addresses are checked by the services, which say what is wrong with them. */
export const addressInput = text(64);
export const portInput = int32().min(1).max(65535);

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

// ---- views ----

export const userView = z.object({
  id: z.string(),
  tenantId: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: roleInput,
  disabled: z.boolean(),
  createdAt: z.date(),
  updatedAt: z.date(),
});

export const meView = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: roleInput,
  tenantId: z.string(),
  tenantName: z.string(),
  kind: z.enum(['user', 'token']),
});

export const apiTokenView = z.object({
  id: z.string(),
  tenantId: z.string(),
  userId: z.string(),
  username: z.string(),
  name: z.string(),
  prefix: z.string(),
  role: roleInput,
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
  expiresAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});

export const hostStatusView = z.enum(['pending', 'online', 'offline', 'revoked']);

export const hostView = z.object({
  id: z.string(),
  name: z.string(),
  address: z.string(),
  port: z.int(),
  segmentId: z.string().nullable(),
  segmentName: z.string().nullable(),
  status: hostStatusView,
  /** Whether the host holds a credential (never the credential itself). */
  enrolled: z.boolean(),
  lastSeenAt: z.date().nullable(),
  agentVersion: z.string().nullable(),
  capabilities: z.array(z.string()),
  /** Resolvers the vnet resolvers on this host forward names they do not know to; empty: such names are REFUSED. */
  dnsUpstream: z.array(z.string()),
  desiredGeneration: z.int(),
  appliedGeneration: z.int(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type HostView = z.infer<typeof hostView>;

export const segmentView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  multicast: z.boolean(),
  multicastGroup: z.string(),
  relayHostId: z.string().nullable(),
  relayHostName: z.string().nullable(),
  proxyMode: z.boolean(),
  hostCount: z.int(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type SegmentView = z.infer<typeof segmentView>;
