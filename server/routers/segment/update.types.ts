import { z } from 'zod';
import { addressInput, idInput, segmentNameInput, segmentView } from '../../identity/identityShapes.ts';
import { text } from '../../../contract/primitives.ts';

/** `relayHostId` must name a host of this segment; null removes the relay. */
export const updateInput = z.strictObject({
  id: idInput,
  name: segmentNameInput.optional(),
  description: text(1000).optional(),
  multicast: z.boolean().optional(),
  multicastGroup: addressInput.optional(),
  relayHostId: idInput.nullable().optional(),
  proxyMode: z.boolean().optional(),
});
export const updateOutput = segmentView;
