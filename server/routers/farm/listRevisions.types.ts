import { z } from 'zod';
import { idInput, pageInput, pageOf } from '../../farms/farmShapes.ts';
import { revisionSummaryView } from './createRevision.types.ts';

export const listRevisionsInput = z.strictObject({ farmId: idInput, ...pageInput });
export const listRevisionsOutput = pageOf(revisionSummaryView);
