// Removes a static route.
import { operatorProcedure } from '../../trpc/init.ts';
import { removeStaticRoute as removeStaticRouteService } from '../../farms/routerLinks.ts';
import { removeStaticRouteInput, removeStaticRouteOutput } from './removeStaticRoute.types.ts';

export const removeStaticRoute = operatorProcedure
  .input(removeStaticRouteInput)
  .output(removeStaticRouteOutput)
  .mutation(({ ctx, input }) => removeStaticRouteService({ db: ctx.db, actor: ctx.actor, ...input }));
