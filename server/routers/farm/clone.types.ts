import { z } from 'zod';
import { farmDetailView, idInput, nameInput } from '../../services/farmShapes.ts';

export const cloneInput = z.strictObject({
  id: idInput,
  name: nameInput,
  /** New vnet ids by vnet name; vnets left out get free ones. */
  vnids: z.record(nameInput, z.int()).optional(),
});
export const cloneOutput = farmDetailView;
