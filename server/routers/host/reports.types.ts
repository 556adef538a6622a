import { z } from 'zod';
import { hostReportView } from '../../control/controlShapes.ts';
import { idInput } from '../../identity/identityShapes.ts';

export const reportsInput = z
  .strictObject({
    /** One host only; omitted: every host. */
    hostId: idInput.optional(),
    /** `summary` (default) gives VIF and VARP counts; `full` the lists themselves. */
    detail: z.enum(['summary', 'full']).default('summary'),
  })
  .default({ detail: 'summary' });
/** Each value the subscription yields: one host's latest report. */
export const reportsOutput = hostReportView;
