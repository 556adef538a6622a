// Moves one rule to a new 0-based position.
import { operatorProcedure } from '../../trpc/init.ts';
import { moveFirewallRule } from '../../farms/firewalls.ts';
import { moveRuleInput, moveRuleOutput } from './moveRule.types.ts';

export const moveRule = operatorProcedure
  .input(moveRuleInput)
  .output(moveRuleOutput)
  .mutation(({ ctx, input }) => moveFirewallRule({ db: ctx.db, actor: ctx.actor, ...input }));
