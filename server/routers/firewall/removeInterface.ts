// Removes an interface; refused while rules match on it.
import { operatorProcedure } from '../../trpc/init.ts';
import { removeFirewallInterface } from '../../farms/firewalls.ts';
import { removeInterfaceInput, removeInterfaceOutput } from './removeInterface.types.ts';

export const removeInterface = operatorProcedure
  .input(removeInterfaceInput)
  .output(removeInterfaceOutput)
  .mutation(({ ctx, input }) => removeFirewallInterface({ db: ctx.db, actor: ctx.actor, ...input }));
