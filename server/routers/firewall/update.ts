// Renames a firewall, changes its placement or its default policy.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateFirewall } from '../../farms/firewalls.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = operatorProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateFirewall({ db: ctx.db, actor: ctx.actor, ...input }));
