// Renames it or changes its pool (addresses in use must stay in it); subnet and gateway only while no leg is on it.
import { adminProcedure } from '../../trpc/init.ts';
import { updateExternalNetwork } from '../../hosts/externalNetworks.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = adminProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateExternalNetwork({ db: ctx.db, actor: ctx.actor, ...input }));
