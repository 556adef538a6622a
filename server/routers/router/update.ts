// Renames a router or changes its placement.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateRouter } from '../../farms/routers.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = operatorProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateRouter({ db: ctx.db, actor: ctx.actor, ...input }));
