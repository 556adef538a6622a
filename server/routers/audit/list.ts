import { authedProcedure } from '../../trpc/init.ts';
import { listAudit } from '../../audit/auditQuery.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = authedProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listAudit({ db: ctx.db, actor: ctx.actor, ...input }));
