// The farm's security group mode: `default` (a group named default that new VIFs join) or `none`.
import { operatorProcedure } from '../../trpc/init.ts';
import { setSecurityGroupMode } from '../../farms/securityGroups.ts';
import { setModeInput, setModeOutput } from './setMode.types.ts';

export const setMode = operatorProcedure
  .input(setModeInput)
  .output(setModeOutput)
  .mutation(({ ctx, input }) => setSecurityGroupMode({ db: ctx.db, actor: ctx.actor, ...input }));
