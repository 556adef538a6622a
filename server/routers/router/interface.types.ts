import { z } from 'zod';
import { addressInput, idInput } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

/** An interface as given to router.create and router.addInterface. */
export const routerInterfaceSpec = {
  vnetId: idInput,
  ip: addressInput.optional(),
  /** Default: the vnet's prefix length. */
  prefixLen: int32().optional(),
  mac: addressInput.optional(),
  rip: z.boolean().optional(),
};
