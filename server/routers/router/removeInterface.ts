// Removes an interface; refused while a static route needs it for its next hop.
import { operatorProcedure } from '../../trpc/init.ts';
import { removeRouterInterface } from '../../farms/routers.ts';
import { removeInterfaceInput, removeInterfaceOutput } from './removeInterface.types.ts';

export const removeInterface = operatorProcedure
  .input(removeInterfaceInput)
  .output(removeInterfaceOutput)
  .mutation(({ ctx, input }) => removeRouterInterface({ db: ctx.db, actor: ctx.actor, ...input }));
