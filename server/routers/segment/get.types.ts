import { z } from 'zod';
import { idInput, segmentView } from '../../identity/identityShapes.ts';

export const getInput = z.strictObject({ id: idInput });
export const getOutput = segmentView;
