// Changes an interface's address, prefix length, MAC or RIP.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateRouterInterface } from '../../farms/routers.ts';
import { updateInterfaceInput, updateInterfaceOutput } from './updateInterface.types.ts';

export const updateInterface = operatorProcedure
  .input(updateInterfaceInput)
  .output(updateInterfaceOutput)
  .mutation(({ ctx, input }) => updateRouterInterface({ db: ctx.db, actor: ctx.actor, ...input }));
