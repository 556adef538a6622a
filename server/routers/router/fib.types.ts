import { z } from 'zod';
import { routerFibView } from '../../services/agentCommandShapes.ts';
import { idInput } from '../../services/farmShapes.ts';

export const fibInput = z.strictObject({ id: idInput });
export const fibOutput = routerFibView;
