import { z } from 'zod';
import { routerInspectView } from '../../control/agentCommandShapes.ts';
import { idInput } from '../../farms/farmShapes.ts';

export const inspectInput = z.strictObject({ id: idInput });
export const inspectOutput = routerInspectView;
