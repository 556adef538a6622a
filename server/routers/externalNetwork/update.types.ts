import { z } from 'zod';
import { idInput } from '../../identity/identityShapes.ts';
import { externalAddressInput, externalNetworkNameInput, externalNetworkView } from '../../hosts/externalNetworkShapes.ts';
import { text } from '../../../contract/primitives.ts';

export const updateInput = z.strictObject({
  id: idInput,
  name: externalNetworkNameInput.optional(),
  description: text(1000).optional(),
  cidr: externalAddressInput.optional(),
  gateway: externalAddressInput.optional(),
  poolStart: externalAddressInput.optional(),
  poolEnd: externalAddressInput.optional(),
});
export const updateOutput = externalNetworkView;
