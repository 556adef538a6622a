// One snapshot with its document.
import { viewerProcedure } from '../../trpc/init.ts';
import { getRevision as getRevisionService } from '../../control/revisions.ts';
import { getRevisionInput, getRevisionOutput } from './getRevision.types.ts';

export const getRevision = viewerProcedure
  .input(getRevisionInput)
  .output(getRevisionOutput)
  .query(({ ctx, input }) => getRevisionService({ db: ctx.db, actor: ctx.actor, ...input }));
