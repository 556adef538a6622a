// Changes a leg's address (within the pool) or its SNAT prefixes.
import { operatorProcedure } from '../../trpc/init.ts';
import { updateExternalLeg } from '../../farms/externalLegs.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = operatorProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateExternalLeg({ db: ctx.db, actor: ctx.actor, ...input }));
