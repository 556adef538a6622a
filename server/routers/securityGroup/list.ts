// The farm's security groups with their rules and members, oldest first.
import { viewerProcedure } from '../../trpc/init.ts';
import { listSecurityGroups } from '../../farms/securityGroups.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = viewerProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listSecurityGroups({ db: ctx.db, actor: ctx.actor, ...input }));
