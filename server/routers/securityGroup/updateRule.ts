// Changes the given fields of one rule; a remote given (CIDR or group) replaces the current one.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateSecurityRule } from '../../farms/securityGroups.ts';
import { updateRuleInput, updateRuleOutput } from './updateRule.types.ts';

export const updateRule = operatorProcedure
  .input(updateRuleInput)
  .output(updateRuleOutput)
  .mutation(({ ctx, input }) => updateSecurityRule({ db: ctx.db, actor: ctx.actor, ...input }));
