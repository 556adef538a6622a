// Deletes one rule of a security group.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteSecurityRule } from '../../farms/securityGroups.ts';
import { deleteRuleInput, deleteRuleOutput } from './deleteRule.types.ts';

export const deleteRule = operatorProcedure
  .input(deleteRuleInput)
  .output(deleteRuleOutput)
  .mutation(({ ctx, input }) => deleteSecurityRule({ db: ctx.db, actor: ctx.actor, ...input }));
