// Replaces the security groups a VIF belongs to.
import { operatorProcedure } from '../../trpc/init.ts';
import { setVifSecurityGroups } from '../../farms/securityGroups.ts';
import { setSecurityGroupsInput, setSecurityGroupsOutput } from './setSecurityGroups.types.ts';

export const setSecurityGroups = operatorProcedure
  .input(setSecurityGroupsInput)
  .output(setSecurityGroupsOutput)
  .mutation(({ ctx, input }) => setVifSecurityGroups({ db: ctx.db, actor: ctx.actor, ...input }));
