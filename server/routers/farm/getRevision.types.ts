import { z } from 'zod';
import { idInput } from '../../farms/farmShapes.ts';
import { farmDocumentSchema } from '../../farms/farmDocument.ts';
import { revisionSummaryView } from './createRevision.types.ts';
import { int32 } from '../../../contract/primitives.ts';

export const getRevisionInput = z.strictObject({ farmId: idInput, revision: int32().min(1) });
export const getRevisionOutput = revisionSummaryView.extend({ snapshot: farmDocumentSchema });
