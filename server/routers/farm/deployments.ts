// A farm's deployments, oldest first (deploy, undeploy, migrate).
import { viewerProcedure } from '../../trpc/init.ts';
import { listDeployments } from '../../control/deploy.ts';
import { deploymentsInput, deploymentsOutput } from './deployments.types.ts';

export const deployments = viewerProcedure
  .input(deploymentsInput)
  .output(deploymentsOutput)
  .query(({ ctx, input }) => listDeployments({ db: ctx.db, actor: ctx.actor, ...input }));
