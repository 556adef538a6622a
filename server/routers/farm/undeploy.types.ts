import { z } from 'zod';
import { deployResultView, waitInput } from '../../services/controlShapes.ts';
import { idInput } from '../../services/farmShapes.ts';

export const undeployInput = z.strictObject({ id: idInput, ...waitInput });
export const undeployOutput = deployResultView;
