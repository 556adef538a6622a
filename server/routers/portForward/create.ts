// Forwards TCP or UDP to the leg's address:externalPort to a VIF's address:internalPort.
import { operatorProcedure } from '../../trpc/init.ts';
import { createPortForward } from '../../farms/externalLegs.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createPortForward({ db: ctx.db, actor: ctx.actor, ...input }));
