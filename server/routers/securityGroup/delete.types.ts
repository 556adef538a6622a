import { z } from 'zod';
import { deletedView, expectedRevisionInput, idInput } from '../../farms/farmShapes.ts';

export const deleteInput = z.strictObject({ id: idInput, expectedRevision: expectedRevisionInput });
export const deleteOutput = deletedView;
