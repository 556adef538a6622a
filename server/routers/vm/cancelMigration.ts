// Cancels a VM's live migration: it stays on its host; the destination drops its incoming VIFs.
import { operatorProcedure } from '../../trpc/init.ts';
import { cancelLiveMigration } from '../../control/liveMigration.ts';
import { cancelMigrationInput, migrateOutput } from './migrate.types.ts';

export const cancelMigration = operatorProcedure
  .input(cancelMigrationInput)
  .output(migrateOutput)
  .mutation(({ ctx, input }) => cancelLiveMigration({ db: ctx.db, actor: ctx.actor, ...input }));
