import { adminProcedure } from '../../trpc/init.ts';
import { revokeCredential as revoke } from '../../hosts/hosts.ts';
import { revokeCredentialInput, revokeCredentialOutput } from './revokeCredential.types.ts';

export const revokeCredential = adminProcedure
  .input(revokeCredentialInput)
  .output(revokeCredentialOutput)
  .mutation(({ ctx, input }) => revoke({ db: ctx.db, actor: ctx.actor, id: input.id }));
