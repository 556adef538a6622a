import { z } from 'zod';
import { deletedView, expectedRevisionInput, idInput } from '../../farms/farmShapes.ts';

export const removeStaticRouteInput = z.strictObject({ id: idInput, expectedRevision: expectedRevisionInput });
export const removeStaticRouteOutput = deletedView;
