// The farm's firewalls, oldest first.
import { viewerProcedure } from '../../trpc/init.ts';
import { listFirewalls } from '../../farms/firewalls.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = viewerProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listFirewalls({ db: ctx.db, actor: ctx.actor, ...input }));
