import { z } from 'zod';
import { auditView, pageOf } from '../../services/identityShapes.ts';
import { auditCursorInput } from '../../services/listPage.ts';

export const listInput = z
  .object({
    /** Id of the last entry seen (entries come newest first). */
    cursor: auditCursorInput.optional(),
    limit: z.int().min(1).max(200).default(50),
    entity: z.string().max(64).optional(),
    entityId: z.string().max(64).optional(),
    action: z.string().max(64).optional(),
  })
  .default({ limit: 50 });
export const listOutput = pageOf(auditView);
