import { z } from 'zod';
import { addressInput, expectedRevisionInput, externalLegView, idInput, mutationOf } from '../../farms/farmShapes.ts';

/** Exactly one of routerId and firewallId. */
export const createInput = z.strictObject({
  expectedRevision: expectedRevisionInput,
  routerId: idInput.optional(),
  firewallId: idInput.optional(),
  externalNetworkId: idInput,
  /** Omitted: the lowest free address of the pool. */
  ip: addressInput.optional(),
  mac: addressInput.optional(),
  /** Inside prefixes masqueraded to the leg's address; omitted: the node's interfaces' prefixes. */
  snat: z.array(addressInput).max(1000).optional(),
});
export const createOutput = mutationOf('leg', externalLegView);
