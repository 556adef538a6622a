import { z } from 'zod';
import { deploymentProgressView } from '../../control/controlShapes.ts';
import { idInput } from '../../farms/farmShapes.ts';

/** `id` is the deployment's id (from deploy, undeploy, migrate or deployments). */
export const deployProgressInput = z.strictObject({ id: idInput });
/** Each value the subscription yields; the last one has `complete: true`. */
export const deployProgressOutput = deploymentProgressView;
