// One firewall.
import { viewerProcedure } from '../../trpc/init.ts';
import { getFirewall } from '../../farms/firewalls.ts';
import { getInput, getOutput } from './get.types.ts';

export const get = viewerProcedure
  .input(getInput)
  .output(getOutput)
  .query(({ ctx, input }) => getFirewall({ db: ctx.db, actor: ctx.actor, ...input }));
