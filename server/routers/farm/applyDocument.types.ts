import { z } from 'zod';
import { expectedRevisionInput } from '../../farms/farmShapes.ts';
import { farmDocumentSchema } from '../../farms/farmDocument.ts';
import { documentChangeView } from '../../farms/documentDiff.ts';

export const applyDocumentInput = z.strictObject({
  document: farmDocumentSchema,
  /** The revision the caller planned against (CONFLICT when the farm moved on); null: the farm must not exist yet. */
  expectedRevision: expectedRevisionInput.nullable().optional(),
});
export const applyDocumentOutput = z.object({
  farmId: z.string(),
  name: z.string(),
  /** The farm's revision now (unchanged when nothing changed). */
  revision: z.int(),
  created: z.boolean(),
  /** False: the farm already was what the document says; nothing was written. */
  changed: z.boolean(),
  changes: z.array(documentChangeView),
});
