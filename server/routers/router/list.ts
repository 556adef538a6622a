// The farm's routers, oldest first.
import { viewerProcedure } from '../../trpc/init.ts';
import { listRouters } from '../../farms/routers.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = viewerProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listRouters({ db: ctx.db, actor: ctx.actor, ...input }));
