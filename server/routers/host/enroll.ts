import { publicProcedure } from '../../trpc/init.ts';
import { enroll as trade } from '../../hosts/hosts.ts';
import { enrollInput, enrollOutput } from './enroll.types.ts';

// Public: the one-time enrollment token is the agent's only proof.
export const enroll = publicProcedure
  .input(enrollInput)
  .output(enrollOutput)
  .mutation(({ ctx, input }) => trade({ db: ctx.db, ...input }));
