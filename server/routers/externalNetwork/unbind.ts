// Removes the binding on one host.
import { adminProcedure } from '../../trpc/init.ts';
import { unbindExternalNetwork } from '../../hosts/externalNetworks.ts';
import { unbindInput, unbindOutput } from './unbind.types.ts';

export const unbind = adminProcedure
  .input(unbindInput)
  .output(unbindOutput)
  .mutation(({ ctx, input }) => unbindExternalNetwork({ db: ctx.db, actor: ctx.actor, ...input }));
