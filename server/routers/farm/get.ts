// The whole farm: vnets, VMs with VIFs, routers with interfaces and static routes, links, firewalls with interfaces and ordered rules.
import { viewerProcedure } from '../../trpc/init.ts';
import { getFarm } from '../../farms/farms.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = viewerProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getFarm({ db: ctx.db, actor: ctx.actor, ...input }));
