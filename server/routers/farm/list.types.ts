import { z } from 'zod';
import { farmSummaryView, pageInput, pageOf } from '../../farms/farmShapes.ts';

export const listInput = z.strictObject({ ...pageInput }).default({ limit: 50 });
export const listOutput = pageOf(farmSummaryView);
