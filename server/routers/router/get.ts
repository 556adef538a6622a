// One router.
import { viewerProcedure } from '../../trpc/init.ts';
import { getRouter } from '../../farms/routers.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = viewerProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getRouter({ db: ctx.db, actor: ctx.actor, ...input }));
