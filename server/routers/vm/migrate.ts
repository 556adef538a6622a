// Moves a VM to another host (new location version) and redeploys its farm if deployed.
import { operatorProcedure } from '../../trpc/init.ts';
import { migrateVm } from '../../control/deploy.ts';
import { migrateInput, migrateOutput } from './migrate.types.ts';

export const migrate = operatorProcedure
  .input(migrateInput)
  .output(migrateOutput)
  .mutation(({ ctx, input }) => migrateVm({ db: ctx.db, actor: ctx.actor, ...input }));
