// What a deploy would change on each host, without changing anything.
import { viewerProcedure } from '../../trpc/init.ts';
import { planFarm } from '../../control/plan.ts';
import { planInput, planOutput } from './plan.types.ts';

export const plan = viewerProcedure
  .input(planInput)
  .output(planOutput)
  .query(({ ctx, input }) => planFarm({ db: ctx.db, actor: ctx.actor, ...input }));
