// The API's data transformer: superjson (docs/api.md, Transport), reading
// inputs more strictly. Before superjson sees an input, the raw JSON is
// searched once for what no procedure may receive, and the call is refused
// naming where it is:
// - a key `__proto__`: an ordinary own key after JSON.parse, which superjson
//   then drops without a word (and a careless copy would turn into the
//   object's prototype), so strict inputs never saw it to refuse it;
// - text the database cannot store (U+0000, an unpaired surrogate), in a key
//   or a value, also where a schema passes values through unchecked (a
//   `z.unknown()` answer, the extra keys of a loose object). Schemas refuse
//   it as well (contract/primitives.ts); this covers what they let through.
import { TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { isStorableText, UNSTORABLE_TEXT } from '../../contract/primitives.ts';
import { AppError } from '../errors.ts';

const FORBIDDEN_KEY = '__proto__';

interface Finding {
  path: string;
  message: string;
}

/** The first key or value of `value` no procedure may receive, or null. */
export function unacceptable(value: unknown, path: string[] = []): Finding | null {
  const at = (extra?: string) => [...path, ...(extra === undefined ? [] : [extra])].join('.');
  if (typeof value === 'string') return isStorableText(value) ? null : { path: at(), message: UNSTORABLE_TEXT };
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unacceptable(value[i], [...path, String(i)]);
      if (found) return found;
    }
    return null;
  }
  if (Object.hasOwn(value, FORBIDDEN_KEY)) return { path: at(FORBIDDEN_KEY), message: `"${FORBIDDEN_KEY}" is not allowed as a key` };
  for (const [k, v] of Object.entries(value)) {
    if (!isStorableText(k)) return { path: at(k), message: `key ${UNSTORABLE_TEXT}` };
    const found = unacceptable(v, [...path, k]);
    if (found) return found;
  }
  return null;
}

export const transformer = {
  input: {
    serialize: (v: unknown) => superjson.serialize(v),
    deserialize: (v: unknown) => {
      // Input paths start under `json` (superjson's envelope).
      const json = typeof v === 'object' && v !== null ? (v as { json?: unknown }).json : undefined;
      const found = unacceptable(json);
      if (found) {
        const message = `${found.path || 'input'}: ${found.message}`;
        throw new TRPCError({ code: 'BAD_REQUEST', message, cause: new AppError('BAD_REQUEST', message, { field: found.path }) });
      }
      return superjson.deserialize(v as Parameters<typeof superjson.deserialize>[0]);
    },
  },
  output: superjson,
};
