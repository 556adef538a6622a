// A vnet; its id is the lowest free one from 100 up unless `vnid` is given (2 to 2^32-1, unique in the deployment).
import { operatorProcedure } from '../../trpc/init.ts';
import { createVnet } from '../../farms/vnets.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createVnet({ db: ctx.db, actor: ctx.actor, ...input }));
