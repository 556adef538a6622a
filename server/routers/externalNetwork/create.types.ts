import { z } from 'zod';
import { idInput } from '../../identity/identityShapes.ts';
import { externalAddressInput, externalNetworkNameInput, externalNetworkView } from '../../hosts/externalNetworkShapes.ts';
import { text } from '../../../contract/primitives.ts';

/** Addresses are checked by the service: gateway and pool inside `cidr`, the pool leaving the gateway out. */
export const createInput = z.strictObject({
  segmentId: idInput,
  name: externalNetworkNameInput,
  description: text(1000).optional(),
  /** The subnet, e.g. 198.51.100.0/24. */
  cidr: externalAddressInput,
  gateway: externalAddressInput,
  poolStart: externalAddressInput,
  poolEnd: externalAddressInput,
});
export const createOutput = externalNetworkView;
