// Copies a farm under a new name with new vnet ids (free ones, or `vnids` by vnet name) and fresh MACs.
import { operatorProcedure } from '../../trpc/init.ts';
import { cloneFarm } from '../../farms/farms.ts';
import { cloneInput, cloneOutput } from './clone.types.ts';

export const clone = operatorProcedure
  .input(cloneInput)
  .output(cloneOutput)
  .mutation(({ ctx, input }) => cloneFarm({ db: ctx.db, actor: ctx.actor, ...input }));
