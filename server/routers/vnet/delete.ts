// Deletes a vnet; refused (CONFLICT, users listed in `details`) while VIFs or interfaces use it.
import { operatorProcedure } from '../../trpc/init.ts';
import { deleteVnet } from '../../farms/vnets.ts';
import { deleteInput, deleteOutput } from './delete.types.ts';

export const del = operatorProcedure
  .input(deleteInput)
  .output(deleteOutput)
  .mutation(({ ctx, input }) => deleteVnet({ db: ctx.db, actor: ctx.actor, ...input }));
