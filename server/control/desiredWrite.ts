// Stores the new desired states of a recompute: every changed host's
// document and its generation, in one statement per chunk of hosts rather
// than two round trips per host. A deploy that changes 1,000 hosts spent
// most of its time in those 2,000 sequential round trips, inside the
// control-loop lock that every other deploy waits for.
//
// The chunk goes to Postgres as one JSON text (the documents serialised once
// here), not as parallel arrays: the client's parameter handling walked
// every element of a 1,000-document array (about 4 MB) before sending it,
// which took longer than Postgres took to store them.
import type { Prisma } from '../db/generated/client.ts';

export interface DesiredRow {
  hostId: string;
  generation: number;
  hash: string;
  /** The state document, generation included. */
  state: unknown;
}

/** Hosts per statement: bounds one statement's size, whatever the fleet. */
const CHUNK = 1000;

const STORE_SQL = `WITH u AS (
       SELECT (e->>0)::uuid AS id, (e->>1)::int4 AS generation, e->>2 AS hash, e->3 AS state FROM jsonb_array_elements($1::jsonb) e),
     s AS (INSERT INTO "HostDesiredState" ("hostId", generation, hash, state, "updatedAt")
           SELECT id, generation, hash, state, now() FROM u
           ON CONFLICT ("hostId") DO UPDATE SET generation = EXCLUDED.generation, hash = EXCLUDED.hash, state = EXCLUDED.state, "updatedAt" = now()),
     -- Hosts locked in id order, as the report statement locks them (server/control/reportWrite.ts): a report
     -- batch of several hosts and a deploy queue on their first shared host instead of deadlocking.
     l AS (SELECT id FROM "Host" WHERE id IN (SELECT id FROM u) ORDER BY id FOR UPDATE)
     UPDATE "Host" h SET "desiredGeneration" = u.generation, "updatedAt" = now() FROM u JOIN l ON l.id = u.id WHERE h.id = u.id`;

export async function storeDesiredStates(tx: Prisma.TransactionClient, rows: readonly DesiredRow[]): Promise<void> {
  // By host id across chunks too (see STORE_SQL).
  const sorted = [...rows].sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
  for (let i = 0; i < sorted.length; i += CHUNK) {
    const chunk = sorted.slice(i, i + CHUNK);
    await tx.$executeRawUnsafe(STORE_SQL, JSON.stringify(chunk.map((r) => [r.hostId, r.generation, r.hash, r.state])));
  }
}
