import { z } from 'zod';
import { farmSummaryView, nameInput } from '../../farms/farmShapes.ts';
import { farmDocumentSchema } from '../../farms/farmDocument.ts';

export const importInput = z.strictObject({
  document: farmDocumentSchema,
  /** Overrides the document's name. */
  name: nameInput.optional(),
  /** `keep` (default): a vnet id used elsewhere in the deployment is a CONFLICT; `auto`: it is replaced by a free one. */
  vnids: z.enum(['keep', 'auto']).optional(),
});
export const importOutput = farmSummaryView;
