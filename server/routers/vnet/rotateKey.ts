// Rotates a sealed vnet's key without dropping traffic: the new key is added
// now; the console switches to it and retires the old one in the background.
import { operatorProcedure } from '../../trpc/init.ts';
import { rotateVnetKey } from '../../control/keyRotation.ts';
import { rotateKeyInput, rotateKeyOutput } from './rotateKey.types.ts';

export const rotateKey = operatorProcedure
  .input(rotateKeyInput)
  .output(rotateKeyOutput)
  .mutation(({ ctx, input }) => rotateVnetKey({ db: ctx.db, actor: ctx.actor, ...input }));
