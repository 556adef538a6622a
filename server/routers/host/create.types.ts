import { z } from 'zod';
import { DEFAULT_PORT } from '../../../agent/wire/constants.ts';
import { addressInput, hostNameInput, hostView, idInput, portInput } from '../../identity/identityShapes.ts';

export const createInput = z.strictObject({
  name: hostNameInput,
  /** Care-of IPv4 address of the host on the underlay. */
  address: addressInput,
  port: portInput.default(DEFAULT_PORT),
  segmentId: idInput.nullish(),
});
/** `enrollmentToken` is shown here once; the agent trades it for its credential. */
export const createOutput = z.object({ host: hostView, enrollmentToken: z.string(), enrollmentExpiresAt: z.date() });
