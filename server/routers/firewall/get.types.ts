import { z } from 'zod';
import { idInput, firewallView } from '../../farms/farmShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = firewallView;
