import { z } from 'zod';
import { auditView } from '../../audit/auditQuery.ts';
import { pageOf } from '../../identity/identityShapes.ts';
import { auditCursorInput } from '../../db/listPage.ts';
import { int32, text } from '../../../contract/primitives.ts';

export const listInput = z
  .object({
    /** Id of the last entry seen (entries come newest first). */
    cursor: auditCursorInput.optional(),
    limit: int32().min(1).max(200).default(50),
    entity: text(64).optional(),
    entityId: text(64).optional(),
    action: text(64).optional(),
  })
  .default({ limit: 50 });
export const listOutput = pageOf(auditView);
