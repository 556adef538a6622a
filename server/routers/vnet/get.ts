// One vnet.
import { viewerProcedure } from '../../trpc/init.ts';
import { getVnet } from '../../farms/vnets.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = viewerProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getVnet({ db: ctx.db, actor: ctx.actor, ...input }));
