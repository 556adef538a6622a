import { z } from 'zod';
import { addressInput, hostNameInput, hostView, idInput, portInput } from '../../identity/identityShapes.ts';

/** `segmentId: null` takes the host out of its segment. */
export const updateInput = z.strictObject({
  id: idInput,
  name: hostNameInput.optional(),
  address: addressInput.optional(),
  port: portInput.optional(),
  segmentId: idInput.nullable().optional(),
});
export const updateOutput = hostView;
