// Snapshots the farm's current intent as an immutable revision; the same revision twice returns the first snapshot.
import { operatorProcedure } from '../../trpc/init.ts';
import { createRevision as createRevisionService } from '../../control/revisions.ts';
import { createRevisionInput, createRevisionOutput } from './createRevision.types.ts';

export const createRevision = operatorProcedure
  .input(createRevisionInput)
  .output(createRevisionOutput)
  .mutation(({ ctx, input }) => createRevisionService({ db: ctx.db, actor: ctx.actor, ...input }));
