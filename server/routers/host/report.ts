// The latest report of one host, with its VIFs and VARP cache.
import { viewerProcedure } from '../../trpc/init.ts';
import { latestReport } from '../../control/hostReports.ts';
import { reportInput, reportOutput } from './report.types.ts';

export const report = viewerProcedure
  .input(reportInput)
  .output(reportOutput)
  .query(({ ctx, input }) => latestReport({ db: ctx.db, actor: ctx.actor, id: input.id }));
