// A VM with VIFs eth0, eth1, ... in the order given; omitted MACs and IPs are assigned.
import { operatorProcedure } from '../../trpc/init.ts';
import { createVm } from '../../farms/vms.ts';
import { createInput, createOutput } from './create.types.ts';

export const create = operatorProcedure
  .input(createInput)
  .output(createOutput)
  .mutation(({ ctx, input }) => createVm({ db: ctx.db, actor: ctx.actor, ...input }));
