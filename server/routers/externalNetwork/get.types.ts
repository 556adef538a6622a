import { z } from 'zod';
import { idInput } from '../../identity/identityShapes.ts';
import { externalNetworkView } from '../../hosts/externalNetworkShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = externalNetworkView;
