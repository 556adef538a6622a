// A firewall with named interfaces on distinct vnets, a default policy (deny unless given) and ordered rules.
import { operatorProcedure } from '../../trpc/init.ts';
import { createFirewall } from '../../farms/firewalls.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createFirewall({ db: ctx.db, actor: ctx.actor, ...input }));
