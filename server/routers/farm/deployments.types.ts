import { z } from 'zod';
import { deploymentView } from '../../services/controlShapes.ts';
import { idInput, pageInput, pageOf } from '../../services/farmShapes.ts';

export const deploymentsInput = z.strictObject({ farmId: idInput, ...pageInput });
export const deploymentsOutput = pageOf(deploymentView);
