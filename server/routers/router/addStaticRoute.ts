// A static route: destination prefix, next hop on a connected prefix, metric 1–15.
import { operatorProcedure } from '../../trpc/init.ts';
import { addStaticRoute as addStaticRouteService } from '../../farms/routerLinks.ts';
import { addStaticRouteInput, addStaticRouteOutput } from './addStaticRoute.types.ts';

export const addStaticRoute = operatorProcedure
  .input(addStaticRouteInput)
  .output(addStaticRouteOutput)
  .mutation(({ ctx, input }) => addStaticRouteService({ db: ctx.db, actor: ctx.actor, ...input }));
