import { adminProcedure } from '../../trpc/init.ts';
import { deleteSegment } from '../../hosts/segments.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const remove = adminProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteSegment({ db: ctx.db, actor: ctx.actor, id: input.id }));
