// Deletes a security group no VIF belongs to and no other group's rule names as its remote.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteSecurityGroup } from '../../farms/securityGroups.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const del = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteSecurityGroup({ db: ctx.db, actor: ctx.actor, ...input }));
