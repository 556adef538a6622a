import { z } from 'zod';
import { hostReportView } from '../../services/controlShapes.ts';
import { idInput } from '../../services/identityShapes.ts';

export const reportInput = z.strictObject({ id: idInput });
export const reportOutput = hostReportView;
