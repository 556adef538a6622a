import { z } from 'zod';
import { idInput, pageInput, pageOf, vifView } from '../../farms/farmShapes.ts';

export const listInput = z.strictObject({ vmId: idInput.optional(), farmId: idInput.optional(), ...pageInput });
export const listOutput = pageOf(vifView);
