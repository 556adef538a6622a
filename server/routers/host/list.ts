import { authedProcedure } from '../../trpc/init.ts';
import { listHosts } from '../../hosts/hosts.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = authedProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listHosts({ db: ctx.db, actor: ctx.actor, ...input }));
