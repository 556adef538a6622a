import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, NAT_PROTOCOL_INPUT, portForwardView } from '../../farms/farmShapes.ts';
import { int32 } from '../../../contract/primitives.ts';

/** Ports are checked by the service (1..65535). */
export const createInput = z.strictObject({
  legId: idInput,
  expectedRevision: expectedRevisionInput,
  protocol: NAT_PROTOCOL_INPUT,
  externalPort: int32(),
  vifId: idInput,
  internalPort: int32(),
});
export const createOutput = mutationOf('portForward', portForwardView);
