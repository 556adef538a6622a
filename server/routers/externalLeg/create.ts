// Attaches a router or a firewall of a farm to an external network: an address from its pool, SNAT prefixes.
import { operatorProcedure } from '../../trpc/init.ts';
import { createExternalLeg } from '../../farms/externalLegs.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createExternalLeg({ db: ctx.db, actor: ctx.actor, ...input }));
