// The tenant's farms with their revision and how many vnets, VMs, routers and firewalls each has.
import { viewerProcedure } from '../../trpc/init.ts';
import { listFarms } from '../../farms/farms.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = viewerProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listFarms({ db: ctx.db, actor: ctx.actor, ...input }));
