import { z } from 'zod';
import { firewallInspectView } from '../../services/agentCommandShapes.ts';
import { idInput } from '../../services/farmShapes.ts';

export const inspectInput = z.strictObject({ id: idInput });
export const inspectOutput = firewallInspectView;
