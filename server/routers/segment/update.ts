import { adminProcedure } from '../../trpc/init.ts';
import { updateSegment } from '../../hosts/segments.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = adminProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateSegment({ db: ctx.db, actor: ctx.actor, ...input }));
