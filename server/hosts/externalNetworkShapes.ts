// Views and inputs of external networks (externalNetworks.ts): what the API
// answers and takes.
import { z } from 'zod';
import { int32, text } from '../../contract/primitives.ts';
import { segmentNameInput } from '../identity/identityShapes.ts';

export const externalNetworkNameInput = segmentNameInput;
export const externalAddressInput = text(64);

export const externalBindingView = z.object({
  hostId: z.string(),
  hostName: z.string(),
  /** The host interface the network is on. */
  interface: z.string(),
  /** null: untagged; a number: that 802.1Q VLAN of `interface`. */
  vid: z.int().nullable(),
});
export type ExternalBindingView = z.infer<typeof externalBindingView>;

export const externalNetworkView = z.object({
  id: z.string(),
  segmentId: z.string(),
  segmentName: z.string(),
  name: z.string(),
  description: z.string(),
  cidr: z.string(),
  gateway: z.string(),
  poolStart: z.string(),
  poolEnd: z.string(),
  /** Addresses in the pool, and how many are held (legs and floating IPs of every tenant). */
  poolSize: z.int(),
  poolUsed: z.int(),
  bindings: z.array(externalBindingView),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type ExternalNetworkView = z.infer<typeof externalNetworkView>;

export const vidInput = int32().nullable();
