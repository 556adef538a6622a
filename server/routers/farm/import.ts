// Creates a farm from a document, validated as a whole first: a refused document writes nothing.
import { operatorProcedure } from '../../trpc/init.ts';
import { importFarm } from '../../farms/farms.ts';
import { importInput, importOutput } from './import.types.ts';

export const importDocument = operatorProcedure
  .input(importInput)
  .output(importOutput)
  .mutation(({ ctx, input }) => importFarm({ db: ctx.db, actor: ctx.actor, ...input }));
