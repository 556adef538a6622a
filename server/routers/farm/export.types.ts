import { z } from 'zod';
import { idInput } from '../../services/farmShapes.ts';
import { farmDocumentSchema } from '../../services/farmDocument.ts';

export const exportInput = z.strictObject({ id: idInput });
export const exportOutput = farmDocumentSchema;
