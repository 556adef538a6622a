import { z } from 'zod';
import { addressInput, expectedRevisionInput, idInput, mutationOf, staticRouteView } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

export const addStaticRouteInput = z.strictObject({
  routerId: idInput,
  expectedRevision: expectedRevisionInput,
  destination: addressInput,
  nextHop: addressInput,
  metric: int32().optional(),
});
export const addStaticRouteOutput = mutationOf('staticRoute', staticRouteView);
