// VIFs of one VM (`vmId`) or of a whole farm (`farmId`).
import { viewerProcedure } from '../../trpc/init.ts';
import { listVifs } from '../../farms/vifs.ts';
import { listInput, listOutput } from './list.types.ts';

export const list = viewerProcedure
  .input(listInput)
  .output(listOutput)
  .query(({ ctx, input }) => listVifs({ db: ctx.db, actor: ctx.actor, ...input }));
