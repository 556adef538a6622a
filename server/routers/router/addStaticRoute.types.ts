import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, staticRouteView } from '../../services/farmShapes.ts';

export const addStaticRouteInput = z.strictObject({
  routerId: idInput,
  expectedRevision: expectedRevisionInput,
  destination: addressInput,
  nextHop: addressInput,
  metric: z.int().optional(),
});
export const addStaticRouteOutput = mutationOf('staticRoute', staticRouteView);
