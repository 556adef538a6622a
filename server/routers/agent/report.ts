// An agent's periodic report: applied generation, VIFs, VARP cache, counters, health.
import { hostProcedure } from '../../trpc/init.ts';
import { handleReport } from '../../control/agentLink.ts';
import { reportInput, reportOutput } from './report.types.ts';

export const report = hostProcedure
  .input(reportInput)
  .output(reportOutput)
  .mutation(({ ctx, input }) => handleReport({ db: ctx.db, actor: ctx.actor, report: input }));
