// Removes a vnet's VLAN bridge on one host.
import { operatorProcedure } from '../../trpc/init.ts';
import { removeVnetVlan } from '../../farms/vnetVlans.ts';
import { removeVlanInput, removeVlanOutput } from './removeVlan.types.ts';

export const removeVlan = operatorProcedure
  .input(removeVlanInput)
  .output(removeVlanOutput)
  .mutation(({ ctx, input }) => removeVnetVlan({ db: ctx.db, actor: ctx.actor, ...input }));
