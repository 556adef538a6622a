import { z } from 'zod';
import { idInput } from '../../identity/identityShapes.ts';
import { externalNetworkView } from '../../hosts/externalNetworkShapes.ts';

export const unbindInput = z.strictObject({ id: idInput, hostId: idInput });
export const unbindOutput = externalNetworkView;
