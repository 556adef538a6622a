// Changes a VIF's MAC or IP.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateVif } from '../../farms/vifs.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = operatorProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateVif({ db: ctx.db, actor: ctx.actor, ...input }));
