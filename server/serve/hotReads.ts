// The lean path of the two hottest reads, `GET /api/trpc/farm.get` and
// `GET /api/trpc/farm.list` (first page), served without tRPC's per-request
// machinery (Request and Response objects, streams, the procedure chain,
// output validation and superjson on every call). Same URL, same answer
// bytes as the tRPC path, plus an ETag: a request whose If-None-Match names
// the current answer gets 304 without a body.
//
// The checks are the procedures' own: the caller is resolved from its cookie
// or token on every request (leanAuth.ts: resolveActor's lookups in raw SQL,
// in one statement with the answer's freshness stamp, and its verdicts; expired sessions, revoked or expired tokens, disabled
// users are refused), must be a user or an API token (viewerProcedure), and
// the farm is read only within the caller's tenant. Its queries are raw,
// prepared statements on the pool Prisma also uses: at thousands of requests
// a second the ORM's own work per query was most of the cost. Whatever this path does not answer itself — no or a bad
// credential, an input it does not take as is, a farm that is not the
// caller's, a cursor, a batch, any error — goes to tRPC unchanged, which
// answers it exactly as before (its error shape, its codes).
import type { z } from 'zod';
import { getDatabase, type Db, type RawDb } from '../db/index.ts';
import { ensureLivenessSweep } from '../control/hostLiveness.ts';
import { ensureKeyRotation } from '../control/keyRotation.ts';
import { farmStampSql, pageStampSql, ReadyAnswers, type ReadyAnswer } from '../farms/farmReadCache.ts';
import { leanActorWith, sqlOf, type Sql } from './leanAuth.ts';
import { getInput, getOutput } from '../routers/farm/get.types.ts';
import { listInput, listOutput } from '../routers/farm/list.types.ts';
import { transformer } from '../trpc/transformer.ts';

/** What the lean path needs of a request, whichever server received it. */
export interface HotRequest {
  method: string;
  /** Path and query, e.g. `/api/trpc/farm.get?input=…`. */
  url: string;
  header(name: string): string | null | undefined;
}

export interface HotAnswer {
  status: 200 | 304;
  headers: Record<string, string>;
  body: Buffer | null;
}

/** The bytes tRPC sends for a query's result: its envelope around the transformed, output-checked value. */
function encoder<T>(output: z.ZodType<T>) {
  return (value: T): Buffer => Buffer.from(JSON.stringify({ result: { data: transformer.output.serialize(output.parse(value)) } }));
}
const encodeFarm = encoder(getOutput);
const encodePage = encoder(listOutput);

const answers = new ReadyAnswers();


type Creds = { cookie?: string | null; authorization?: string | null };
type Handler = (db: Db, sql: Sql, creds: Creds, rawInput: unknown) => Promise<ReadyAnswer | null>;

// Each read resolves its caller and reads the freshness stamp of its answer
// for the caller's tenant in one statement (leanActorWith); only a stamp that
// is not held costs more (farmReadCache.ts).
const HANDLERS: Record<string, Handler> = {
  'farm.get': async (db, sql, creds, rawInput) => {
    const input = getInput.safeParse(rawInput);
    if (!input.success) return null;
    const farmId = input.data.id;
    const read = { name: 'softudc_lean_farm', expr: (tenant: string) => farmStampSql(tenant, '$2::uuid'), values: [farmId] };
    const caller = await leanActorWith<string>(sql, creds, read);
    return caller && answers.farm(db, caller.actor.tenantId, farmId, caller.value, encodeFarm);
  },
  'farm.list': async (db, sql, creds, rawInput) => {
    const input = listInput.safeParse(rawInput);
    if (!input.success || input.data.cursor !== undefined) return null;
    const limit = input.data.limit;
    const read = { name: 'softudc_lean_page', expr: (tenant: string) => pageStampSql(tenant, '$2::int'), values: [limit + 1] };
    const caller = await leanActorWith<string>(sql, creds, read);
    return caller && answers.farmPage(db, caller.actor.tenantId, limit, caller.value ?? '', encodePage);
  },
};

/** The procedure's input as tRPC would decode it from `?input=`, or `false` when the lean path leaves it to tRPC. */
function decodeInput(query: URLSearchParams): unknown {
  for (const key of query.keys()) if (key !== 'input') return false;
  const raw = query.get('input');
  if (raw === null) return undefined;
  try {
    return transformer.input.deserialize(JSON.parse(raw));
  } catch {
    return false;
  }
}

/** Whether an If-None-Match header names `etag` (a list, or `*`). */
function matches(ifNoneMatch: string | null | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/**
 * The answer of a hot read, or null when tRPC should answer the request.
 * `prefix` is the API's path (`/api/trpc`).
 */
export async function serveHotRead(req: HotRequest, prefix: string, db?: { prisma: Db; raw: RawDb }): Promise<HotAnswer | null> {
  if (req.method !== 'GET') return null;
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  if (!path.startsWith(`${prefix}/`)) return null;
  const handler = HANDLERS[path.slice(prefix.length + 1)];
  if (!handler) return null;
  const input = decodeInput(new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1)));
  if (input === false) return null;
  try {
    const { prisma, raw } = db ?? (await getDatabase());
    ensureLivenessSweep(prisma);
    ensureKeyRotation(prisma);
    const answer = await handler(prisma, sqlOf(raw), { cookie: req.header('cookie'), authorization: req.header('authorization') }, input);
    if (!answer) return null;
    const headers = {
      'content-type': 'application/json',
      vary: 'trpc-accept, accept',
      etag: answer.etag,
      // Per caller: a browser keeps it, always asks again, and shares it with nobody.
      'cache-control': 'private, no-cache',
    };
    if (matches(req.header('if-none-match'), answer.etag)) return { status: 304, headers, body: null };
    return { status: 200, headers: { ...headers, 'content-length': String(answer.body.length) }, body: answer.body };
  } catch {
    return null;
  }
}
