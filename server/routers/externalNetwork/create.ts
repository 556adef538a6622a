// Defines an external network in a LAN segment: subnet, gateway, address pool.
import { adminProcedure } from '../../trpc/init.ts';
import { createExternalNetwork } from '../../hosts/externalNetworks.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = adminProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createExternalNetwork({ db: ctx.db, actor: ctx.actor, ...input }));
