import { z } from 'zod';
import { idInput, pageInput, pageOf } from '../../identity/identityShapes.ts';
import { externalNetworkView } from '../../hosts/externalNetworkShapes.ts';

export const listInput = z.strictObject({ ...pageInput, segmentId: idInput.optional() }).default({ limit: 50 });
export const listOutput = pageOf(externalNetworkView);
