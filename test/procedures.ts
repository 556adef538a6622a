// The API's procedures found by walking the root router (so a procedure added
// later is covered by every sweep without touching the sweeps), and one way
// to call any of them by its dotted path through a createCaller caller.
import type { z } from 'zod';
import { appRouter } from '../server/routers/_app.ts';

export interface ProcedureInfo {
  path: string;
  type: string;
  /** The input schema, when the procedure takes one. */
  input: z.core.$ZodType | undefined;
}

type RouterDef = { _def: { procedures: Record<string, { _def: { type: string; inputs: z.core.$ZodType[] } }> } };

export const procedures: ProcedureInfo[] = Object.entries((appRouter as unknown as RouterDef)._def.procedures)
  .map(([path, p]) => ({ path, type: p._def.type, input: p._def.inputs[0] }))
  .sort((a, b) => (a.path < b.path ? -1 : 1));

/**
 * Calls `path` on `caller` with `input`. A subscription is read until its
 * first value (or `firstValueMs`), then closed through `abort`, the signal
 * the caller was made with.
 */
export async function callProcedure(caller: unknown, path: string, input: unknown, abort: AbortController, firstValueMs = 0): Promise<unknown> {
  const fn = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (i: unknown) => Promise<unknown>;
  try {
    const r = await fn(input);
    if (r && typeof r === 'object' && Symbol.asyncIterator in r) {
      const it = (r as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      if (firstValueMs > 0) {
        const timeout = new Promise<'timeout'>((ok) => setTimeout(() => ok('timeout'), firstValueMs).unref());
        await Promise.race([it.next(), timeout]);
      }
      abort.abort();
      await it.return?.();
    }
    return r;
  } finally {
    abort.abort();
  }
}
