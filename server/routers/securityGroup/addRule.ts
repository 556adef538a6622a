// Adds one rule at the end of a security group.
import { operatorProcedure } from '../../trpc/init.ts';
import { addSecurityRule } from '../../farms/securityGroups.ts';
import { addRuleInput, addRuleOutput } from './addRule.types.ts';

export const addRule = operatorProcedure
  .input(addRuleInput)
  .output(addRuleOutput)
  .mutation(({ ctx, input }) => addSecurityRule({ db: ctx.db, actor: ctx.actor, ...input }));
