import { z } from 'zod';
import { idInput, pageInput, pageOf, vmView } from '../../farms/farmShapes.ts';

export const listInput = z.strictObject({ farmId: idInput, ...pageInput });
export const listOutput = pageOf(vmView);
