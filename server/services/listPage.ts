// Cursor paging shared by the identity and infrastructure lists: items in a
// stable (createdAt, id) order, the cursor being the id of the last item seen.
import { badRequest } from '../errors.ts';

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
 * otherwise Prisma would silently return an empty page.
 */
export function assertCursor(found: unknown, cursor: string | null | undefined): void {
  if (cursor && !found) throw badRequest('cursor', 'does not name an item of this list; start again without a cursor');
}
