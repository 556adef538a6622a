// Stores the new desired states of a recompute: every changed host's
// document and its generation, in two statements per chunk of hosts rather
// than two round trips per host. A deploy that changes 1,000 hosts spent
// most of its time in those 2,000 sequential round trips, inside the
// control-loop lock that every other deploy waits for.
import type { Prisma } from '../db/generated/client.ts';

export interface DesiredRow {
  hostId: string;
  generation: number;
  hash: string;
  /** The state document, generation included. */
  state: unknown;
}

/** Hosts per statement: bounds one statement's size, whatever the fleet. */
const CHUNK = 500;

export async function storeDesiredStates(tx: Prisma.TransactionClient, rows: readonly DesiredRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const ids = chunk.map((r) => r.hostId);
    const generations = chunk.map((r) => r.generation);
    await tx.$executeRawUnsafe(
      `INSERT INTO "HostDesiredState" ("hostId", generation, hash, state, "updatedAt")
       SELECT u.*, now() FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::jsonb[]) AS u
       ON CONFLICT ("hostId") DO UPDATE SET generation = EXCLUDED.generation, hash = EXCLUDED.hash, state = EXCLUDED.state, "updatedAt" = now()`,
      ids,
      generations,
      chunk.map((r) => r.hash),
      chunk.map((r) => JSON.stringify(r.state)),
    );
    await tx.$executeRawUnsafe(
      `UPDATE "Host" h SET "desiredGeneration" = u.generation, "updatedAt" = now()
       FROM unnest($1::uuid[], $2::int4[]) AS u(id, generation) WHERE h.id = u.id`,
      ids,
      generations,
    );
  }
}
