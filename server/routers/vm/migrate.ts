// Moves a VM to another host (new location version) and redeploys its farm if deployed;
// live: the destination gets its VIFs incoming and the move finishes when the VM arrives there.
import { operatorProcedure } from '../../trpc/init.ts';
import { migrateVm } from '../../control/deploy.ts';
import { startLiveMigration } from '../../control/liveMigration.ts';
import { migrateInput, migrateOutput } from './migrate.types.ts';

export const migrate = operatorProcedure
  .input(migrateInput)
  .output(migrateOutput)
  .mutation(({ ctx, input: { live, ...input } }) => (live ? startLiveMigration : migrateVm)({ db: ctx.db, actor: ctx.actor, ...input }));
