// The packet trace of a deployed farm: the hop-by-hop path of a flow and
// what decides it at each hop; `live` also asks the agents on the path.
import { viewerProcedure } from '../../trpc/init.ts';
import { traceFarm } from '../../control/trace.ts';
import { traceInput, traceOutput } from './trace.types.ts';

export const trace = viewerProcedure
  .input(traceInput)
  .output(traceOutput)
  .query(({ ctx, input }) => traceFarm({ db: ctx.db, actor: ctx.actor, ...input }));
