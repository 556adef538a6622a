// How a host row is read and shown: the credential hash is selected only to
// become the `enrolled` flag and never leaves this module.
import { upstreamOf } from '../control/deployedFarms.ts';
import type { Prisma } from '../db/generated/client.ts';
import type { HostView } from '../identity/identityShapes.ts';

export const HOST_SELECT = {
  id: true,
  name: true,
  address: true,
  port: true,
  segmentId: true,
  segment: { select: { name: true } },
  status: true,
  credentialHash: true,
  lastSeenAt: true,
  agentVersion: true,
  capabilities: true,
  dnsUpstream: true,
  desiredGeneration: true,
  appliedGeneration: true,
  createdAt: true,
  updatedAt: true,
} as const;

export type HostRow = Prisma.HostGetPayload<{ select: typeof HOST_SELECT }>;

/** The only place a host row becomes output: the credential hash turns into a yes/no. */
export function toHostView({ segment, credentialHash, capabilities, dnsUpstream, ...rest }: HostRow): HostView {
  return {
    ...rest,
    dnsUpstream: upstreamOf(dnsUpstream),
    segmentName: segment?.name ?? null,
    enrolled: credentialHash !== null,
    capabilities: Array.isArray(capabilities) ? capabilities.filter((c): c is string => typeof c === 'string') : [],
  };
}


