import { z } from 'zod';
import { bandwidthInput, burstInput, expectedRevisionInput, guestKindInput, idInput, mutationOf, nameInput, vmView } from '../../farms/farmShapes.ts';

export const updateInput = z.strictObject({
  id: idInput,
  expectedRevision: expectedRevisionInput,
  name: nameInput.optional(),
  guestKind: guestKindInput.optional(),
  /** null removes the limit (and its burst). */
  bandwidthMbps: bandwidthInput.nullable().optional(),
  burstKb: burstInput.nullable().optional(),
  hostId: idInput.nullable().optional(),
});
export const updateOutput = mutationOf('vm', vmView);
