import { z } from 'zod';
import { deletedView, expectedRevisionInput, idInput } from '../../farms/farmShapes.ts';

export const unlinkInput = z.strictObject({ id: idInput, expectedRevision: expectedRevisionInput });
export const unlinkOutput = deletedView;
