import { z } from 'zod';
import { firewallInspectView } from '../../control/agentCommandShapes.ts';
import { idInput } from '../../farms/farmShapes.ts';

export const inspectInput = z.strictObject({ id: idInput });
export const inspectOutput = firewallInspectView;
