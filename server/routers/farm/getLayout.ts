// Designer positions of the farm's nodes (node id -> {x, y}).
import { viewerProcedure } from '../../trpc/init.ts';
import { getLayout as getLayoutService } from '../../farms/layout.ts';
import { getLayoutInput, getLayoutOutput } from './getLayout.types.ts';

export const getLayout = viewerProcedure
  .input(getLayoutInput)
  .output(getLayoutOutput)
  .query(({ ctx, input }) => getLayoutService({ db: ctx.db, actor: ctx.actor, ...input }));
