import { z } from 'zod';
import { addressInput, idInput, segmentNameInput, segmentView } from '../../identity/identityShapes.ts';
import { text } from '../../../contract/primitives.ts';

export const createInput = z.strictObject({
  name: segmentNameInput,
  description: text(1000).optional(),
  /** Whether the segment's link carries IP multicast. */
  multicast: z.boolean().default(true),
  /** Checked by the service: must be in 224.0.0.0/4. */
  multicastGroup: addressInput.default('224.10.0.1'),
  /** A host not yet in any segment; it joins this one as its relay. */
  relayHostId: idInput.nullish(),
  proxyMode: z.boolean().default(false),
});
export const createOutput = segmentView;
