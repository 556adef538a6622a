// Adds an interface on another vnet of the farm.
import { operatorProcedure } from '../../trpc/init.ts';
import { addRouterInterface } from '../../farms/routers.ts';
import { addInterfaceInput, addInterfaceOutput } from './addInterface.types.ts';

export const addInterface = operatorProcedure
  .input(addInterfaceInput)
  .output(addInterfaceOutput)
  .mutation(({ ctx, input }) => addRouterInterface({ db: ctx.db, actor: ctx.actor, ...input }));
