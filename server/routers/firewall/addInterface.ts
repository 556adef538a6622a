// Adds a named interface on another vnet of the farm.
import { operatorProcedure } from '../../trpc/init.ts';
import { addFirewallInterface } from '../../farms/firewalls.ts';
import { addInterfaceInput, addInterfaceOutput } from './addInterface.types.ts';

export const addInterface = operatorProcedure
  .input(addInterfaceInput)
  .output(addInterfaceOutput)
  .mutation(({ ctx, input }) => addFirewallInterface({ db: ctx.db, actor: ctx.actor, ...input }));
