import { addressInput, idInput, nameInput } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

/** Rules per firewall; far more than a hand-written policy needs. */
export const RULES_MAX = 1000;

/** An interface as given to firewall.create and firewall.addInterface. */
export const firewallInterfaceSpec = {
  name: nameInput,
  vnetId: idInput,
  ip: addressInput.optional(),
  /** Default: the vnet's prefix length. */
  prefixLen: int32().optional(),
  mac: addressInput.optional(),
};
