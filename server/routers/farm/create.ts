// A new, empty farm at revision 1.
import { operatorProcedure } from '../../trpc/init.ts';
import { createFarm } from '../../farms/farms.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createFarm({ db: ctx.db, actor: ctx.actor, ...input }));
