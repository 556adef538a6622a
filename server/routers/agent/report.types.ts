import { reportSchema } from '../../../contract/report.ts';
import { reportOutput as output } from '../../control/controlShapes.ts';

export const reportInput = reportSchema;
export const reportOutput = output;
