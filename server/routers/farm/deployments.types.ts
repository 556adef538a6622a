import { z } from 'zod';
import { deploymentView } from '../../control/controlShapes.ts';
import { idInput, pageInput, pageOf } from '../../farms/farmShapes.ts';

export const deploymentsInput = z.strictObject({ farmId: idInput, ...pageInput });
export const deploymentsOutput = pageOf(deploymentView);
