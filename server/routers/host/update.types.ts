import { z } from 'zod';
import { DHCP_DNS_SERVERS_MAX } from '../../../contract/dhcp.ts';
import { addressInput, hostNameInput, hostView, idInput, portInput } from '../../identity/identityShapes.ts';

/** `segmentId: null` takes the host out of its segment. */
export const updateInput = z.strictObject({
  id: idInput,
  name: hostNameInput.optional(),
  address: addressInput.optional(),
  port: portInput.optional(),
  segmentId: idInput.nullable().optional(),
  /** Upstream DNS resolvers for the vnet resolvers on this host (docs/operations.md "Addresses and names for guests"); `[]`: none. */
  dnsUpstream: z.array(addressInput).max(DHCP_DNS_SERVERS_MAX).optional(),
});
export const updateOutput = hostView;
