// One external network with its host bindings and pool use.
import { authedProcedure } from '../../trpc/init.ts';
import { getExternalNetwork } from '../../hosts/externalNetworks.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = authedProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getExternalNetwork({ db: ctx.db, actor: ctx.actor, id: input.id }));
