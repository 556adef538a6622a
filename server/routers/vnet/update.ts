// Changes a vnet's name, id, prefix (every address in use must fit the new one), MTU or security.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateVnet } from '../../farms/vnets.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = operatorProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateVnet({ db: ctx.db, actor: ctx.actor, ...input }));
