// Removes a link; refused while a static route needs it for its next hop.
import { operatorProcedure } from '../../trpc/init.ts';
import { unlinkRouters } from '../../farms/routerLinks.ts';
import { unlinkInput, unlinkOutput } from './unlink.types.ts';

export const unlink = operatorProcedure
  .input(unlinkInput)
  .output(unlinkOutput)
  .mutation(({ ctx, input }) => unlinkRouters({ db: ctx.db, actor: ctx.actor, ...input }));
