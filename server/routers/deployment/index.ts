// deployment.* procedures (deployment-wide settings): this file only maps names.
import { router } from '../../trpc/init.ts';
import { rotateVarpKey } from './rotateVarpKey.ts';

export const deploymentRouter = router({ rotateVarpKey });
