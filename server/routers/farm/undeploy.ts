// Takes a deployed farm off every host.
import { operatorProcedure } from '../../trpc/init.ts';
import { undeployFarm } from '../../control/deploy.ts';
import { undeployInput, undeployOutput } from './undeploy.types.ts';

export const undeploy = operatorProcedure
  .input(undeployInput)
  .output(undeployOutput)
  .mutation(({ ctx, input }) => undeployFarm({ db: ctx.db, actor: ctx.actor, ...input }));
