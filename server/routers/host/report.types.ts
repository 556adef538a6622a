import { z } from 'zod';
import { hostReportView } from '../../control/controlShapes.ts';
import { idInput } from '../../identity/identityShapes.ts';

export const reportInput = z.strictObject({ id: idInput });
export const reportOutput = hostReportView;
