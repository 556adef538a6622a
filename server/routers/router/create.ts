// A router with interfaces on distinct vnets whose prefixes do not overlap; omitted addresses are assigned (routers take the highest free IP).
import { operatorProcedure } from '../../trpc/init.ts';
import { createRouter } from '../../farms/routers.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createRouter({ db: ctx.db, actor: ctx.actor, ...input }));
