import { z } from 'zod';
import { idInput } from '../../identity/identityShapes.ts';
import { externalNetworkView, vidInput } from '../../hosts/externalNetworkShapes.ts';
import { text } from '../../../contract/primitives.ts';

export const bindInput = z.strictObject({
  id: idInput,
  /** A host of the network's LAN segment. */
  hostId: idInput,
  /** The host interface (1-15 of A-Z a-z 0-9 _ . -, checked by the service). */
  interface: text(64),
  /** null: untagged; 1..4094: that 802.1Q VLAN of `interface`. */
  vid: vidInput.default(null),
});
export const bindOutput = externalNetworkView;
