import { adminProcedure } from '../../trpc/init.ts';
import { createEnrollmentToken as issue } from '../../hosts/hosts.ts';
import { createEnrollmentTokenInput, createEnrollmentTokenOutput } from './createEnrollmentToken.types.ts';

export const createEnrollmentToken = adminProcedure
  .input(createEnrollmentTokenInput)
  .output(createEnrollmentTokenOutput)
  .mutation(({ ctx, input }) => issue({ db: ctx.db, actor: ctx.actor, ...input }));
