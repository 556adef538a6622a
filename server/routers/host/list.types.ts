import { z } from 'zod';
import { hostStatusView, hostView, idInput, pageInput, pageOf } from '../../identity/identityShapes.ts';

export const listInput = z
  .object({ ...pageInput, segmentId: idInput.optional(), status: hostStatusView.optional() })
  .default({ limit: 50 });
export const listOutput = pageOf(hostView);
