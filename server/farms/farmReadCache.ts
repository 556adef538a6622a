// The answers of the two hottest reads, farm.get and farm.list, kept ready
// to send (encoded bytes and their ETag), keyed by a stamp that is read from
// the database on every request. A farm's contents change only through an
// intent edit, and every edit bumps the farm's revision (editFarm); what its
// answer shows beyond the revision is the deployed revision, the row's
// updatedAt and the names of the hosts it is placed on (a host can be
// renamed). The stamp is exactly those, read with the tenant check in one
// small query, so a cached answer is never served after any of them changed,
// in this console process or another one sharing the database. A miss reads
// the stamp and the answer in one snapshot, so the stored answer is the one
// its stamp names.
import { createHash } from 'node:crypto';
import type { Db } from '../db/index.ts';
import type { Page } from '../db/listPage.ts';
import type { Tx } from './farmAccess.ts';
import { READ_TX, readFarmPage } from './farms.ts';
import type { FarmDetail, FarmSummary } from './farmShapes.ts';
import { loadFarmDetail } from './farmViews.ts';

export interface ReadyAnswer {
  /** What the answer was read at (see above); equal stamps, equal answers. */
  stamp: string;
  /** The encoded answer, as sent. */
  body: Buffer;
  /** A strong ETag of `body`. */
  etag: string;
}

/** Turns a view into the bytes the API sends for it (the HTTP layer's envelope and transformer). */
export type Encode<T> = (value: T) => Buffer;

/** Runs one read-only statement: raw SQL on a hit (prepared under `name` on Postgres), Prisma inside a miss's transaction. */
export type StampQuery = (name: string, text: string, values: unknown[]) => Promise<{ stamp: string }[]>;

const inTx = (tx: Tx): StampQuery => (_name, text, values) => tx.$queryRawUnsafe<{ stamp: string }[]>(text, ...values);

/** The farm's stamp if it exists in the tenant, else null (another tenant's farm is simply absent). */
async function farmStamp(q: StampQuery, tenantId: string, farmId: string): Promise<string | null> {
  const rows = await q(
    'softudc_farm_stamp',
    `SELECT f.revision || ':' || coalesce(f."deployedRevision", 0) || ':' || f."updatedAt"::text || ':' || (
        SELECT coalesce(md5(string_agg(h.id::text || '=' || h.name, ',' ORDER BY h.id)), '') FROM "Host" h WHERE h.id IN (
          SELECT "hostId" FROM "Vm" WHERE "farmId" = f.id AND "hostId" IS NOT NULL
          UNION SELECT "hostId" FROM "Router" WHERE "farmId" = f.id AND "hostId" IS NOT NULL
          UNION SELECT "hostId" FROM "Firewall" WHERE "farmId" = f.id AND "hostId" IS NOT NULL
          UNION SELECT l."hostId" FROM "VnetVlan" l JOIN "Vnet" v ON v.id = l."vnetId" WHERE v."farmId" = f.id)
      ) AS stamp
     FROM "Farm" f WHERE f.id = $1::uuid AND f."tenantId" = $2::uuid`,
    [farmId, tenantId],
  );
  return rows[0]?.stamp ?? null;
}

/**
 * The stamp of the first page of a tenant's farms: which farms, in which
 * order, at which revision (a summary's counts change only with the revision).
 */
async function pageStamp(q: StampQuery, tenantId: string, limit: number): Promise<string> {
  const rows = await q(
    'softudc_page_stamp',
    `SELECT count(*) || ':' || coalesce(md5(string_agg(
        p.id::text || ':' || p.revision || ':' || coalesce(p."deployedRevision", 0) || ':' || p."updatedAt"::text,
        ',' ORDER BY p."createdAt", p.id)), '') AS stamp
     FROM (SELECT id, revision, "deployedRevision", "updatedAt", "createdAt" FROM "Farm"
           WHERE "tenantId" = $1::uuid ORDER BY "createdAt", id LIMIT $2) p`,
    [tenantId, limit + 1],
  );
  return rows[0]?.stamp ?? '';
}

const etagOf = (body: Buffer) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;

/** Ready answers, least recently used dropped first past a byte budget. */
export class ReadyAnswers {
  private readonly entries = new Map<string, ReadyAnswer>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 2 ** 20) {}

  /** Entries held (tests). */
  get size(): number {
    return this.entries.size;
  }

  /** farm.get's answer for a farm of the tenant, or null when the tenant has no such farm. */
  async farm(db: Db, q: StampQuery, tenantId: string, farmId: string, encode: Encode<FarmDetail>): Promise<ReadyAnswer | null> {
    const key = `farm/${tenantId}/${farmId}`;
    const stamp = await farmStamp(q, tenantId, farmId);
    if (stamp === null) return null;
    const held = this.take(key, stamp);
    if (held) return held;
    const fresh = await db.$transaction(async (tx) => {
      const s = await farmStamp(inTx(tx), tenantId, farmId);
      return s === null ? null : { stamp: s, view: await loadFarmDetail(tx, farmId) };
    }, READ_TX);
    return fresh && this.store(key, fresh.stamp, encode(fresh.view));
  }

  /** farm.list's answer for the tenant's first page of `limit` farms. */
  async farmPage(db: Db, q: StampQuery, tenantId: string, limit: number, encode: Encode<Page<FarmSummary>>): Promise<ReadyAnswer> {
    const key = `list/${tenantId}/${limit}`;
    const held = this.take(key, await pageStamp(q, tenantId, limit));
    if (held) return held;
    const fresh = await db.$transaction(
      async (tx) => ({ stamp: await pageStamp(inTx(tx), tenantId, limit), view: await readFarmPage(tx, tenantId, { limit }) }),
      READ_TX,
    );
    return this.store(key, fresh.stamp, encode(fresh.view));
  }

  private take(key: string, stamp: string): ReadyAnswer | null {
    const held = this.entries.get(key);
    if (!held || held.stamp !== stamp) return null;
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, held);
    return held;
  }

  private store(key: string, stamp: string, body: Buffer): ReadyAnswer {
    const answer = { stamp, body, etag: etagOf(body) };
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.body.length;
    }
    // An answer bigger than a quarter of the budget is served, not kept.
    if (body.length > this.maxBytes / 4) return answer;
    this.entries.set(key, answer);
    this.bytes += body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.body.length;
    }
    return answer;
  }
}
