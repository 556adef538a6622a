// Every host's latest report, then each one as it arrives (and hosts going offline).
import { toTRPCError, viewerProcedure } from '../../trpc/init.ts';
import { reportUpdates } from '../../control/hostReports.ts';
import { reportsInput, reportsOutput } from './reports.types.ts';

export const reports = viewerProcedure.input(reportsInput).subscription(async function* ({ ctx, input, signal }) {
  try {
    const updates = reportUpdates({ db: ctx.db, actor: ctx.actor, hostId: input.hostId, detail: input.detail, signal });
    for await (const r of updates) yield reportsOutput.parse(r);
  } catch (err) {
    throw toTRPCError(err);
  }
});
