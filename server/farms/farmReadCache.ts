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

/**
 * The stamp of a farm of the tenant, as a scalar SQL expression: NULL when
 * the tenant has no such farm (another tenant's farm is simply absent).
 * `tenant` is SQL text for the tenant's id (a uuid), `farm` for the farm's.
 */
export function farmStampSql(tenant: string, farm: string): string {
  return `SELECT f.revision || ':' || coalesce(f."deployedRevision", 0) || ':' || f."updatedAt"::text || ':' || (
        SELECT coalesce(md5(string_agg(h.id::text || '=' || h.name, ',' ORDER BY h.id)), '') FROM "Host" h WHERE h.id IN (
          SELECT "hostId" FROM "Vm" WHERE "farmId" = f.id AND "hostId" IS NOT NULL
          UNION SELECT "hostId" FROM "Router" WHERE "farmId" = f.id AND "hostId" IS NOT NULL
          UNION SELECT "hostId" FROM "Firewall" WHERE "farmId" = f.id AND "hostId" IS NOT NULL
          UNION SELECT l."hostId" FROM "VnetVlan" l JOIN "Vnet" v ON v.id = l."vnetId" WHERE v."farmId" = f.id)
      )
     FROM "Farm" f WHERE f.id = ${farm} AND f."tenantId" = ${tenant}`;
}

/**
 * The stamp of the first page of `limit` farms of a tenant, as a scalar SQL
 * expression: which farms, in which order, at which revision (a summary's
 * counts change only with the revision). `limit` is SQL text for the page's
 * size plus one.
 */
export function pageStampSql(tenant: string, limitPlusOne: string): string {
  return `SELECT count(*) || ':' || coalesce(md5(string_agg(
        p.id::text || ':' || p.revision || ':' || coalesce(p."deployedRevision", 0) || ':' || p."updatedAt"::text,
        ',' ORDER BY p."createdAt", p.id)), '')
     FROM (SELECT id, revision, "deployedRevision", "updatedAt", "createdAt" FROM "Farm"
           WHERE "tenantId" = ${tenant} ORDER BY "createdAt", id LIMIT ${limitPlusOne}) p`;
}

const stampIn = async (tx: Tx, expr: string, values: unknown[]): Promise<string | null> =>
  (await tx.$queryRawUnsafe<{ stamp: string | null }[]>(`SELECT (${expr}) AS stamp`, ...values))[0]?.stamp ?? null;

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

  /**
   * farm.get's answer for a farm of the tenant whose stamp the caller has
   * just read (farmStampSql), or null when the tenant has no such farm.
   */
  async farm(db: Db, tenantId: string, farmId: string, stamp: string | null, encode: Encode<FarmDetail>): Promise<ReadyAnswer | null> {
    if (stamp === null) return null;
    const key = `farm/${tenantId}/${farmId}`;
    const held = this.take(key, stamp);
    if (held) return held;
    const fresh = await db.$transaction(async (tx) => {
      const s = await stampIn(tx, farmStampSql('$2::uuid', '$1::uuid'), [farmId, tenantId]);
      return s === null ? null : { stamp: s, view: await loadFarmDetail(tx, farmId) };
    }, READ_TX);
    return fresh && this.store(key, fresh.stamp, encode(fresh.view));
  }

  /** farm.list's answer for the tenant's first page of `limit` farms, whose stamp the caller has just read (pageStampSql). */
  async farmPage(db: Db, tenantId: string, limit: number, stamp: string, encode: Encode<Page<FarmSummary>>): Promise<ReadyAnswer> {
    const key = `list/${tenantId}/${limit}`;
    const held = this.take(key, stamp);
    if (held) return held;
    const fresh = await db.$transaction(
      async (tx) => ({
        stamp: (await stampIn(tx, pageStampSql('$1::uuid', '$2'), [tenantId, limit + 1])) ?? '',
        view: await readFarmPage(tx, tenantId, { limit }),
      }),
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
