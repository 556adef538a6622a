import { z } from 'zod';
import { idInput } from '../../farms/farmShapes.ts';

export const rotateKeyInput = z.strictObject({ id: idInput });
/** Key ids only: key material never leaves the control loop. */
export const rotateKeyOutput = z.object({
  id: z.string(),
  vnid: z.int(),
  keyId: z.int(),
  phase: z.literal('adding'),
});
