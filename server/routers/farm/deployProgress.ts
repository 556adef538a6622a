// "Applied on N of M hosts", streamed until every target host applied its generation.
import { toTRPCError, viewerProcedure } from '../../trpc/init.ts';
import { watchDeployment } from '../../control/deploy.ts';
import { deployProgressInput, deployProgressOutput } from './deployProgress.types.ts';

export const deployProgress = viewerProcedure.input(deployProgressInput).subscription(async function* ({ ctx, input, signal }) {
  try {
    for await (const p of watchDeployment({ db: ctx.db, actor: ctx.actor, id: input.id, signal })) {
      yield deployProgressOutput.parse(p);
    }
  } catch (err) {
    throw toTRPCError(err);
  }
});
