import { z } from 'zod';
import { addressInput, expectedRevisionInput, floatingIpView, idInput, mutationOf } from '../../farms/farmShapes.ts';

export const createInput = z.strictObject({
  legId: idInput,
  expectedRevision: expectedRevisionInput,
  /** A VIF of a VM of the leg's farm. */
  vifId: idInput,
  /** Omitted: the lowest free address of the pool. */
  ip: addressInput.optional(),
});
export const createOutput = mutationOf('floatingIp', floatingIpView);
