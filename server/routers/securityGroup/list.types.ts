import { z } from 'zod';
import { idInput, pageInput, pageOf, securityGroupView } from '../../farms/farmShapes.ts';

export const listInput = z.strictObject({ farmId: idInput, ...pageInput });
export const listOutput = pageOf(securityGroupView);
