import { reportInput as report, reportOutput as output } from '../../services/controlShapes.ts';

export const reportInput = report;
export const reportOutput = output;
