import { authedProcedure } from '../../trpc/init.ts';
import { listSegments } from '../../hosts/segments.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = authedProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listSegments({ db: ctx.db, actor: ctx.actor, ...input }));
