// Takes over a live migration whose finish failed (the VM view's migrationError) and tries it again in the caller's name.
import { operatorProcedure } from '../../trpc/init.ts';
import { retryLiveMigration } from '../../control/liveMigration.ts';
import { retryMigrationInput, retryMigrationOutput } from './migrate.types.ts';

export const retryMigration = operatorProcedure
  .input(retryMigrationInput)
  .output(retryMigrationOutput)
  .mutation(({ ctx, input }) => retryLiveMigration({ db: ctx.db, actor: ctx.actor, ...input }));
