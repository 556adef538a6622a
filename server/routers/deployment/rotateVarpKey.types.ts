import { z } from 'zod';

export const rotateVarpKeyInput = z.strictObject({}).optional();
export const rotateVarpKeyOutput = z.object({ rotatedAt: z.date(), hosts: z.int() });
