// Renames a security group or changes its description.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateSecurityGroup } from '../../farms/securityGroups.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = operatorProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateSecurityGroup({ db: ctx.db, actor: ctx.actor, ...input }));
