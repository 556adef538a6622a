// Deploys a farm revision; with `wait`, returns once every affected host applied it (or on timeout).
import { operatorProcedure } from '../../trpc/init.ts';
import { deployFarm } from '../../control/deploy.ts';
import { deployInput, deployOutput } from './deploy.types.ts';

export const deploy = operatorProcedure
  .input(deployInput)
  .output(deployOutput)
  .mutation(({ ctx, input }) => deployFarm({ db: ctx.db, actor: ctx.actor, ...input }));
