// The farm's vnets, oldest first.
import { viewerProcedure } from '../../trpc/init.ts';
import { listVnets } from '../../farms/vnets.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = viewerProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listVnets({ db: ctx.db, actor: ctx.actor, ...input }));
