import { adminProcedure } from '../../trpc/init.ts';
import { createHost } from '../../hosts/hosts.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = adminProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createHost({ db: ctx.db, actor: ctx.actor, ...input }));
