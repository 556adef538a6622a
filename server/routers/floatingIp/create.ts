// Maps a pool address one-to-one to a VIF of the farm, both ways.
import { operatorProcedure } from '../../trpc/init.ts';
import { createFloatingIp } from '../../farms/externalLegs.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createFloatingIp({ db: ctx.db, actor: ctx.actor, ...input }));
