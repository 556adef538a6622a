// Replaces the ordered rule list at once.
import { operatorProcedure } from '../../trpc/init.ts';
import { setFirewallRules } from '../../farms/firewalls.ts';
import { setRulesInput, setRulesOutput } from './setRules.types.ts';

export const setRules = operatorProcedure
  .input(setRulesInput)
  .output(setRulesOutput)
  .mutation(({ ctx, input }) => setFirewallRules({ db: ctx.db, actor: ctx.actor, ...input }));
