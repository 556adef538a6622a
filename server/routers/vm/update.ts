// Renames a VM, changes its guest kind or its placement (`hostId`, null to unplace; a move bumps `locationVersion`).
import { operatorProcedure } from '../../trpc/init.ts';
import { updateVm } from '../../farms/vms.ts';
import { updateInput, updateOutput } from './update.types.ts';

export const update = operatorProcedure
  .input(updateInput)
  .output(updateOutput)
  .mutation(({ ctx, input }) => updateVm({ db: ctx.db, actor: ctx.actor, ...input }));
