import { adminProcedure } from '../../trpc/init.ts';
import { updateHost } from '../../hosts/hosts.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = adminProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateHost({ db: ctx.db, actor: ctx.actor, ...input }));
