// Cursor paging shared by every list: items in a stable (createdAt, id)
// order, the cursor being the id of the last item seen. Every list treats a
// bad cursor alike: one that is not an id at all fails its input schema, and
// one naming no item of the same list (deleted since, or of another farm,
// tenant or filter) is refused by assertCursor; both are BAD_REQUEST on
// `cursor`, never a silently empty or shifted page.
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import { text } from '../../contract/primitives.ts';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

export interface PageInput {
  cursor?: string | null;
  limit?: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const MALFORMED_CURSOR = 'is not a cursor of this list; pass back the nextCursor of the previous page';
export const NO_SUCH_CURSOR = 'does not name an item of this list (deleted since, or from another list); start again without a cursor';

/** The `cursor` input of every list whose items have UUIDs. */
export const cursorInput = z.guid({ error: MALFORMED_CURSOR });
/** The `cursor` input of `audit.list`, whose entries have integer ids (newest first). */
export const auditCursorInput = text(64).regex(/^[1-9][0-9]{0,18}$/, { error: MALFORMED_CURSOR });

export const ORDER_BY_CREATED = [{ createdAt: 'asc' as const }, { id: 'asc' as const }];

/** Prisma `findMany` arguments for one page (one extra row tells whether more exist). */
export function pageArgs(input: PageInput): { take: number; skip?: number; cursor?: { id: string } } {
  const limit = clampLimit(input.limit);
  return input.cursor ? { take: limit + 1, skip: 1, cursor: { id: input.cursor } } : { take: limit + 1 };
}

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw badRequest('limit', `must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

export function toPage<T extends { id: string }>(rows: T[], input: PageInput): Page<T> {
  const limit = clampLimit(input.limit);
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? last.id : null };
}

/**
 * A cursor must name an item of the same list (same scope and filters);
 * otherwise Prisma would silently return an empty page, or a page of the
 * wrong list positioned by another farm's row.
 */
export function assertCursor(found: unknown, cursor: string | null | undefined): void {
  if (cursor && !found) throw badRequest('cursor', NO_SUCH_CURSOR);
}

/**
 * Checks a cursor before a page is read: `find` looks the id up with the
 * list's own `where` (scope and filters) and returns null when it is not there.
 */
export async function checkCursor(cursor: string | null | undefined, find: (id: string) => Promise<unknown>): Promise<void> {
  if (cursor) assertCursor(await find(cursor), cursor);
}
