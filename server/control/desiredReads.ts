// The desired-state streams' wake-ups (agentLink.ts desiredUpdates): a deploy
// that changes 1,000 hosts wakes 1,000 streams in the same few event-loop
// turns, and each asks whether its host's credential still holds and for
// its document when newer. The asks made in the same turn go to Postgres
// together, as one statement over all their hosts, instead of one statement
// (and one pooled connection, one round trip) per stream.
//
// The document comes as Postgres's text of it, its generation field taken
// out (the stream gives the row's generation its own place): the tRPC
// stream parses it, the lean stream (server/serve/leanDesired.ts) sends it
// as it is, spliced into its message, never parsed or serialised here.
import type { Db } from '../db/index.ts';
import { desiredMessageSchema } from '../../contract/hostState.ts';
import { AppError } from '../errors.ts';
import type { HostState } from '../compile/index.ts';
import { baselineState } from './desiredCompute.ts';
import { HOST_CREDENTIAL_REVOKED } from './desiredState.ts';
import { batchPerTurn } from './turnBatch.ts';

export interface DesiredMessage {
  generation: number;
  state: HostState & { generation: number };
}

/** The same message with the document as JSON text (generation included), for a stream that sends it as it is. */
export interface DesiredText {
  generation: number;
  /** The state document's JSON text, its `generation` the message's. */
  state: string;
}

type Row = {
  i: number;
  live: boolean;
  name: string;
  address: string;
  port: number;
  desiredGeneration: number;
  generation: number | null;
  /** The document's JSON text without its generation field. */
  state: string | null;
};

/** Streams per statement: bounds one statement's answer (the documents), whatever the fleet. */
const BATCH = 500;

// One row per ask (`i`, its place in the batch; a host asked twice gets two).
// The document is read only when it is newer than what that stream has.
const READ_SQL = `SELECT r.i::int AS i, (h.status <> 'revoked' AND h."credentialHash" IS NOT NULL) AS live, h.name, h.address, h.port,
       h."desiredGeneration" AS "desiredGeneration", d.generation, CASE WHEN coalesce(d.generation, 0) > r.after THEN (d.state - 'generation')::text END AS state
  FROM unnest($1::uuid[], $2::int4[]) WITH ORDINALITY AS r(id, after, i)
  JOIN "Host" h ON h.id = r.id LEFT JOIN "HostDesiredState" d ON d."hostId" = h.id`;

interface Ask {
  hostId: string;
  after: number;
  text: boolean;
  resolve(v: DesiredMessage | DesiredText | null): void;
  reject(e: unknown): void;
}

/** `{…}` with `"generation":N` as its last field (the text has none: the statement took it out). */
function withGeneration(text: string, generation: number): string {
  const open = text.trimEnd();
  if (!open.endsWith('}')) throw new AppError('INTERNAL', 'a stored desired state is not a JSON object');
  const body = open.slice(0, -1).trimEnd();
  return `${body}${body.endsWith('{') ? '' : ','}"generation":${generation}}`;
}

/** The answer to one ask: UNAUTHORIZED when the host is gone, revoked or has no credential; null when nothing is newer. */
function answer(row: Row | undefined, a: Ask): DesiredMessage | DesiredText | null {
  const after = a.after;
  if (!row || !row.live) throw new AppError('UNAUTHORIZED', HOST_CREDENTIAL_REVOKED);
  if (row.desiredGeneration <= after) return null;
  if (row.generation === null) {
    if (after >= 0) return null;
    // A host no deploy has reached yet: the baseline, made here rather than stored, so checked here.
    const baseline = { generation: 0, state: { ...baselineState(row), generation: 0 } };
    if (!a.text) return baseline;
    desiredMessageSchema.parse(baseline);
    return { generation: 0, state: JSON.stringify(baseline.state) };
  }
  if (row.generation <= after || row.state === null) return null;
  if (a.text) return { generation: row.generation, state: withGeneration(row.state, row.generation) };
  const state = JSON.parse(row.state) as HostState;
  return { generation: row.generation, state: { ...state, generation: row.generation } };
}

const pending = new WeakMap<Db, Ask[]>();

async function flush(db: Db, asks: Ask[]): Promise<void> {
  for (let i = 0; i < asks.length; i += BATCH) {
    const batch = asks.slice(i, i + BATCH);
    let rows: Row[];
    try {
      rows = await db.$queryRawUnsafe<Row[]>(READ_SQL, batch.map((a) => a.hostId), batch.map((a) => a.after));
    } catch (err) {
      for (const a of batch) a.reject(err);
      continue;
    }
    const byIndex = new Map(rows.map((r) => [Number(r.i), r]));
    batch.forEach((a, j) => {
      try {
        a.resolve(answer(byIndex.get(j + 1), a));
      } catch (err) {
        a.reject(err);
      }
    });
  }
}

/**
 * Whether the host's credential still holds, and its desired state only when
 * its generation is newer than `after`; asks of the same event-loop turn
 * share one statement. Throws UNAUTHORIZED when the host is gone, revoked
 * or has no credential; null when there is nothing newer.
 */
export function readDesiredIfNewer(db: Db, hostId: string, after: number): Promise<DesiredMessage | null> {
  return new Promise((resolve, reject) =>
    batchPerTurn(pending, db, { hostId, after, text: false, resolve: resolve as (v: unknown) => void, reject }, flush),
  );
}

/**
 * The same with the document as stored, as JSON text (its generation the
 * row's): for a stream that sends it without parsing it (leanDesired.ts).
 * Every stored document was checked against the contract before it was
 * stored (recomputeDesired, the only writer of HostDesiredState, refuses a
 * state its host's agent would refuse), so it is not checked again here.
 */
export function readDesiredTextIfNewer(db: Db, hostId: string, after: number): Promise<DesiredText | null> {
  return new Promise((resolve, reject) =>
    batchPerTurn(pending, db, { hostId, after, text: true, resolve: resolve as (v: unknown) => void, reject }, flush),
  );
}
