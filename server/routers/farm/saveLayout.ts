// Replaces the designer positions. Not an intent edit: no revision, no expectedRevision.
import { operatorProcedure } from '../../trpc/init.ts';
import { saveLayout as saveLayoutService } from '../../farms/layout.ts';
import { saveLayoutInput, saveLayoutOutput } from './saveLayout.types.ts';

export const saveLayout = operatorProcedure
  .input(saveLayoutInput)
  .output(saveLayoutOutput)
  .mutation(({ ctx, input }) => saveLayoutService({ db: ctx.db, actor: ctx.actor, ...input }));
