// The API's data transformer: superjson (docs/api.md, Transport), reading
// inputs more strictly. A JSON key `__proto__` is an ordinary own key after
// JSON.parse, which superjson then drops without a word (and which a
// careless copy would turn into the object's prototype); strict inputs would
// never see it to refuse it. So the raw input is searched for one first,
// and the call is refused naming where it is.
import { TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { AppError } from '../errors.ts';

const FORBIDDEN_KEY = '__proto__';

/** Dotted path of the first `__proto__` key in `value`, or null. */
export function protoKeyPath(value: unknown, path: string[] = []): string | null {
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = protoKeyPath(value[i], [...path, String(i)]);
      if (found !== null) return found;
    }
    return null;
  }
  if (Object.hasOwn(value, FORBIDDEN_KEY)) return [...path, FORBIDDEN_KEY].join('.');
  for (const [k, v] of Object.entries(value)) {
    const found = protoKeyPath(v, [...path, k]);
    if (found !== null) return found;
  }
  return null;
}

export const transformer = {
  input: {
    serialize: (v: unknown) => superjson.serialize(v),
    deserialize: (v: unknown) => {
      // Input paths start under `json` (superjson's envelope).
      const json = typeof v === 'object' && v !== null ? (v as { json?: unknown }).json : undefined;
      const at = protoKeyPath(json);
      if (at !== null) {
        const message = `${at}: "${FORBIDDEN_KEY}" is not allowed as a key`;
        throw new TRPCError({ code: 'BAD_REQUEST', message, cause: new AppError('BAD_REQUEST', message, { field: at }) });
      }
      return superjson.deserialize(v as Parameters<typeof superjson.deserialize>[0]);
    },
  },
  output: superjson,
};
