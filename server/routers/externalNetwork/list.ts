// Every external network (any signed-in user: tenants attach legs to them), optionally of one LAN segment.
import { authedProcedure } from '../../trpc/init.ts';
import { listExternalNetworks } from '../../hosts/externalNetworks.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = authedProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listExternalNetworks({ db: ctx.db, actor: ctx.actor, ...input }));
