// The two building blocks every input schema is made of, console and agent
// alike: integers that fit the 32-bit columns they are stored in, and text
// that Postgres can store. zod's own z.int() goes up to 2⁵³ and z.string()
// takes anything, so a value the database then refuses would surface as a
// 500 from deep inside a query; these refuse it at the schema, naming the
// field (BAD_REQUEST), before any service runs.
import { z } from 'zod';

/** Postgres `integer` (every Int column of prisma/schema.prisma). */
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;
/** Unsigned 32-bit values on the wire (vnet ids, docs/wire.md), stored as BIGINT. */
export const UINT32_MAX = 2 ** 32 - 1;

/** An integer a 32-bit column holds; narrow it further with `.min()` / `.max()`. */
export const int32 = () =>
  z
    .int({ error: 'must be an integer' })
    .min(INT32_MIN, { error: `must be at least ${INT32_MIN} (a 32-bit integer)` })
    .max(INT32_MAX, { error: `must be at most ${INT32_MAX} (a 32-bit integer)` });

/** An unsigned 32-bit integer (0 … 4294967295). */
export const uint32 = () =>
  z
    .int({ error: 'must be an integer' })
    .min(0, { error: 'must not be negative' })
    .max(UINT32_MAX, { error: `must be at most ${UINT32_MAX} (an unsigned 32-bit integer)` });

/**
 * U+0000, which no Postgres text or jsonb value may contain, and UTF-16
 * surrogates without their partner, which cannot be encoded as UTF-8 (jsonb
 * refuses them, text columns would silently store U+FFFD instead).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what this pattern looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const isStorableText = (s: string): boolean => !UNSTORABLE.test(s);
export const UNSTORABLE_TEXT = 'must not contain U+0000 or an unpaired UTF-16 surrogate';

/** Text of at most `max` characters that the database can store; add `.min()`, `.regex()`, `.trim()` as needed. */
export const text = (max: number) => z.string().max(max).refine(isStorableText, { error: UNSTORABLE_TEXT });
