// Says where the network is on one host of its segment: an interface, untagged or a VLAN of it.
import { adminProcedure } from '../../trpc/init.ts';
import { bindExternalNetwork } from '../../hosts/externalNetworks.ts';
import { bindInput, bindOutput } from './bind.types.ts';

export const bind = adminProcedure
  .input(bindInput)
  .output(bindOutput)
  .mutation(({ ctx, input }) => bindExternalNetwork({ db: ctx.db, actor: ctx.actor, ...input }));
