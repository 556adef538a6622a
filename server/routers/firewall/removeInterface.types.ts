import { z } from 'zod';
import { deletedView, expectedRevisionInput, idInput } from '../../farms/farmShapes.ts';

export const removeInterfaceInput = z.strictObject({ id: idInput, expectedRevision: expectedRevisionInput });
export const removeInterfaceOutput = deletedView;
