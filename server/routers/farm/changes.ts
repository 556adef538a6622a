// A farm's revision and deployed revision, streamed as they change (the designer's "changed meanwhile").
import { toTRPCError, viewerProcedure } from '../../trpc/init.ts';
import { farmChanges } from '../../farms/farmChanges.ts';
import { changesInput, changesOutput } from './changes.types.ts';

export const changes = viewerProcedure.input(changesInput).subscription(async function* ({ ctx, input, signal }) {
  try {
    for await (const c of farmChanges({ db: ctx.db, actor: ctx.actor, farmId: input.farmId, signal })) yield changesOutput.parse(c);
  } catch (err) {
    throw toTRPCError(err);
  }
});
