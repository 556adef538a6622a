import { addressInput, idInput, nameInput } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';
import { OBJECT_LIMITS } from '../../limits.ts';

/** Rules per firewall; far more than a hand-written policy needs, and all of them fit the firewall's view. */
export const RULES_MAX = OBJECT_LIMITS.rulesPerFirewall;

/** An interface as given to firewall.create and firewall.addInterface. */
export const firewallInterfaceSpec = {
  name: nameInput,
  vnetId: idInput,
  ip: addressInput.optional(),
  /** Default: the vnet's prefix length. */
  prefixLen: int32().optional(),
  mac: addressInput.optional(),
};
