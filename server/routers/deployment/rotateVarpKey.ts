// Replaces the deployment's VARP key on every host (admin).
import { adminProcedure } from '../../trpc/init.ts';
import { rotateVarpKey as rotate } from '../../control/keyRotation.ts';
import { rotateVarpKeyInput, rotateVarpKeyOutput } from './rotateVarpKey.types.ts';

export const rotateVarpKey = adminProcedure
  .input(rotateVarpKeyInput)
  .output(rotateVarpKeyOutput)
  .mutation(({ ctx }) => rotate({ db: ctx.db, actor: ctx.actor }));
