// The console's API as the CLI calls it: the typed tRPC client over HTTP
// (superjson), the API token as a Bearer header on every request, the
// deploy progress stream over SSE (the same links as the agent's client).
import { createTRPCClient, type TRPCClient, type TRPCLink } from '@trpc/client';
import { consoleLinks } from '../agent/control/client.ts';
import type { AppRouter } from '../server/routers/_app.ts';
import type { Connection } from './config.ts';

export type Api = TRPCClient<AppRouter>;

/** Calls wait this long for an answer (a plan or apply of a farm at its limits takes a while). */
const CALL_TIMEOUT_MS = 180_000;

export function apiClient(conn: Connection): Api {
  // The links carry any router's calls; the type of this one is AppRouter's.
  const links = consoleLinks({ url: conn.url, credential: conn.token, timeoutMs: CALL_TIMEOUT_MS }) as unknown as TRPCLink<AppRouter>[];
  return createTRPCClient<AppRouter>({ links });
}

/** Every item of a paged list (`{items, nextCursor}`), page by page. */
export async function allPages<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    items.push(...p.items);
    cursor = p.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** Options of one page of a list, 200 items at a time. */
export const pageOf = (cursor: string | undefined) => ({ limit: 200, ...(cursor ? { cursor } : {}) });

/** A farm by id or by name (the tenant's farm names are unique). */
export async function findFarm(api: Api, ref: string): Promise<{ id: string; name: string } | null> {
  const farms = await allPages((c) => api.farm.list.query(pageOf(c)));
  return farms.find((f) => f.id === ref) ?? farms.find((f) => f.name === ref) ?? null;
}
