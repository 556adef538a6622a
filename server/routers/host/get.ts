import { authedProcedure } from '../../trpc/init.ts';
import { getHost } from '../../hosts/hosts.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = authedProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getHost({ db: ctx.db, actor: ctx.actor, id: input.id }));
