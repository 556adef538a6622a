import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, vnetView } from '../../farms/farmShapes.ts';
import { int32, text } from '../../../contract/primitives.ts';

export const setVlanInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  hostId: idInput,
  /** Host interface the VLAN is on; the service checks the name (1-15 of A-Z a-z 0-9 _ . -). */
  interface: text(64),
  /** IEEE 802.1Q VLAN id, 1..4094 (checked by the service). */
  vid: int32(),
});
export const setVlanOutput = mutationOf('vnet', vnetView);
