// A VIF on a vnet of the VM's farm, named eth<lowest free n>; omitted MAC and IP are assigned.
import { operatorProcedure } from '../../trpc/init.ts';
import { createVif } from '../../farms/vifs.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createVif({ db: ctx.db, actor: ctx.actor, ...input }));
