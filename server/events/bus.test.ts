// The event bus's LISTEN connection against a real Postgres server: when the
// server ends that connection (a restart, a failover, an admin's
// pg_terminate_backend) the bus reconnects by itself and events flow again,
// without an uncaught error and without a second listener (no duplicates).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../test/db.ts';
import { prerequisite } from '../../test/require.ts';
import { EventBus, publish, type ConsoleEvent } from './bus.ts';

const havePostgres = prerequisite(!!process.env.DATABASE_URL, 'DATABASE_URL is unset: the LISTEN reconnection test needs a Postgres server whose backends it can terminate');

const until = async (cond: () => boolean | Promise<boolean>, what: string, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe.skipIf(!havePostgres)('event bus on Postgres', () => {
  let t: TestDb;
  let bus: EventBus;
  const got: ConsoleEvent[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    bus = new EventBus(t.raw);
    await bus.start();
    bus.subscribe((e) => got.push(e));
  }, 60_000);
  afterAll(async () => {
    await bus?.stop();
    await t?.drop();
  });

  const listeners = async () => {
    const rows = await t.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
    );
    return Number(rows[0]!.n);
  };
  const event = (revision: number): ConsoleEvent => ({ type: 'farm.changed', farmId: 'f', tenantId: 't', revision });

  it('delivers, survives its connection being terminated twice, and delivers each event once afterwards', async () => {
    await publish(t.prisma, event(1));
    await until(() => got.length === 1, 'the first event');
    expect(await listeners()).toBe(1);

    for (const round of [2, 3]) {
      const reconnected = new Promise<void>((r) => (bus as unknown as { emitter: NodeJS.EventEmitter }).emitter.once('reconnected', () => r()));
      await t.prisma.$executeRawUnsafe(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
      );
      await reconnected;
      await publish(t.prisma, event(round));
      await until(() => got.some((e) => e.type === 'farm.changed' && e.revision === round), `event ${round} after reconnecting`);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(got.map((e) => (e.type === 'farm.changed' ? e.revision : -1))).toEqual([1, 2, 3]);
    expect(await listeners()).toBe(1);
  }, 30_000);
});
