import { z } from 'zod';
import { pageInput, pageOf, segmentView } from '../../identity/identityShapes.ts';

export const listInput = z.strictObject({ ...pageInput }).default({ limit: 50 });
export const listOutput = pageOf(segmentView);
