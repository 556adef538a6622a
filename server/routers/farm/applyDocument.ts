// Brings the farm a document names to exactly that document (creating it if the tenant has none of that name).
import { operatorProcedure } from '../../trpc/init.ts';
import { applyFarmDocument } from '../../farms/farmApply.ts';
import { applyDocumentInput, applyDocumentOutput } from './applyDocument.types.ts';

export const applyDocument = operatorProcedure
  .input(applyDocumentInput)
  .output(applyDocumentOutput)
  .mutation(({ ctx, input }) => applyFarmDocument({ db: ctx.db, actor: ctx.actor, ...input }));
