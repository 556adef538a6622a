import { z } from 'zod';
import { routerFibView } from '../../control/agentCommandShapes.ts';
import { idInput } from '../../farms/farmShapes.ts';

export const fibInput = z.strictObject({ id: idInput });
export const fibOutput = routerFibView;
