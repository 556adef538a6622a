// The farm as one portable document (names, not ids).
import { viewerProcedure } from '../../trpc/init.ts';
import { exportFarm } from '../../farms/farms.ts';
import { exportInput, exportOutput } from './export.types.ts';

export const exportDocument = viewerProcedure
  .input(exportInput)
  .output(exportOutput)
  .query(({ ctx, input }) => exportFarm({ db: ctx.db, actor: ctx.actor, ...input }));
