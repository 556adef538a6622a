import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, nameInput, securityInput, vnetView } from '../../farms/farmShapes.ts';
import { int32, uint32 } from '../../../contract/primitives.ts';
import { vnetDhcpInput } from '../../farms/vnetDhcp.ts';

export const createInput = z.strictObject({
  farmId: idInput,
  expectedRevision: expectedRevisionInput,
  vnid: uint32().optional(),
  name: nameInput,
  cidr: addressInput,
  /** 576–9000, default 1400. */
  mtu: int32().optional(),
  security: securityInput.optional(),
  /** DHCP and DNS settings; omitted fields keep their value (defaults on create). */
  dhcp: vnetDhcpInput.optional(),
});
export const createOutput = mutationOf('vnet', vnetView);
