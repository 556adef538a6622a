// Links two routers of one farm with a /30 or /31; a free /30 from 169.254.0.0/16 when `cidr` is omitted.
import { operatorProcedure } from '../../trpc/init.ts';
import { linkRouters } from '../../farms/routerLinks.ts';
import { linkInput, linkOutput } from './link.types.ts';

export const link = operatorProcedure
  .input(linkInput)
  .output(linkOutput)
  .mutation(({ ctx, input }) => linkRouters({ db: ctx.db, actor: ctx.actor, ...input }));
