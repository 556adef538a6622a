import { adminProcedure } from '../../trpc/init.ts';
import { createSegment } from '../../hosts/segments.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = adminProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createSegment({ db: ctx.db, actor: ctx.actor, ...input }));
