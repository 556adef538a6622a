// The farm's snapshots, oldest first.
import { viewerProcedure } from '../../trpc/init.ts';
import { listRevisions as listRevisionsService } from '../../control/revisions.ts';
import { listRevisionsInput, listRevisionsOutput } from './listRevisions.types.ts';

export const listRevisions = viewerProcedure
  .input(listRevisionsInput)
  .output(listRevisionsOutput)
  .query(({ ctx, input }) => listRevisionsService({ db: ctx.db, actor: ctx.actor, ...input }));
