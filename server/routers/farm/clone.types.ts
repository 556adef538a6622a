import { z } from 'zod';
import { farmSummaryView, idInput, nameInput } from '../../farms/farmShapes.ts';
import { uint32 } from '../../../contract/primitives.ts';

export const cloneInput = z.strictObject({
  id: idInput,
  name: nameInput,
  /** New vnet ids by vnet name; vnets left out get free ones. */
  vnids: z.record(nameInput, uint32()).optional(),
});
export const cloneOutput = farmSummaryView;
