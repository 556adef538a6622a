// A new security group of a farm, with its rules.
import { operatorProcedure } from '../../trpc/init.ts';
import { createSecurityGroup } from '../../farms/securityGroups.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createSecurityGroup({ db: ctx.db, actor: ctx.actor, ...input }));
