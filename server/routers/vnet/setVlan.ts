// Bridges a vnet to an 802.1Q VLAN on one host's interface (one bridge per host; setting again replaces it).
import { operatorProcedure } from '../../trpc/init.ts';
import { setVnetVlan } from '../../farms/vnetVlans.ts';
import { setVlanInput, setVlanOutput } from './setVlan.types.ts';

export const setVlan = operatorProcedure
  .input(setVlanInput)
  .output(setVlanOutput)
  .mutation(({ ctx, input }) => setVnetVlan({ db: ctx.db, actor: ctx.actor, ...input }));
