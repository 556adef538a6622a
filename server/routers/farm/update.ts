// Renames a farm or changes its description.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateFarm } from '../../farms/farms.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = operatorProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateFarm({ db: ctx.db, actor: ctx.actor, ...input }));
