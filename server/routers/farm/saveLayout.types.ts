import { z } from 'zod';
import { idInput } from '../../farms/farmShapes.ts';
import { positionSchema } from '../../farms/farmDocument.ts';
import { layoutView } from './getLayout.types.ts';
import { text } from '../../../contract/primitives.ts';

/** More nodes than any farm the designer can show. */
export const LAYOUT_MAX_NODES = 20_000;
export const saveLayoutInput = z.strictObject({
  farmId: idInput,
  positions: z
    .record(text(80).min(1), positionSchema)
    .refine((p) => Object.keys(p).length <= LAYOUT_MAX_NODES, `at most ${LAYOUT_MAX_NODES} nodes`),
});
export const saveLayoutOutput = layoutView;
