import { authedProcedure } from '../../trpc/init.ts';
import { getSegment } from '../../hosts/segments.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = authedProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getSegment({ db: ctx.db, actor: ctx.actor, id: input.id }));
