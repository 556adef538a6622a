// What applying a farm document would change, in the model and on hosts, without changing anything.
// A mutation only because a document can be megabytes, more than a query's URL carries; it writes nothing,
// and a viewer may call it like every other read.
import { viewerProcedure } from '../../trpc/init.ts';
import { planDocument as plan } from '../../control/documentPlan.ts';
import { planDocumentInput, planDocumentOutput } from './planDocument.types.ts';

export const planDocument = viewerProcedure
  .input(planDocumentInput)
  .output(planDocumentOutput)
  .mutation(({ ctx, input }) => plan({ db: ctx.db, actor: ctx.actor, ...input }));
