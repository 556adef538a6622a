import { z } from 'zod';
import { idInput } from '../../farms/farmShapes.ts';
import { farmDocumentSchema } from '../../farms/farmDocument.ts';

export const exportInput = z.strictObject({ id: idInput });
export const exportOutput = farmDocumentSchema;
