// The migration runner against a real database (Postgres with DATABASE_URL,
// PGlite without): idempotence, Prisma-compatible bookkeeping, refusal of
// edited or failed migrations, atomicity, and concurrent runners.
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../test/db.ts';
import {
  applyMigrations,
  checksumOf,
  defaultMigrationsDir,
  MigrationError,
  PRISMA_ADVISORY_LOCK_KEY,
  readMigrations,
  type MigrateResult,
} from './migrate.ts';
import { pgExecutor, type SqlExecutor } from './sql.ts';

let db: TestDb;
let dir: string;
const realMigrations = await readMigrations(defaultMigrationsDir());
const names = realMigrations.map((m) => m.name);

beforeAll(async () => {
  db = await createTestDb({ migrate: false });
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  // Each test starts from an empty database and its own copy of the migrations folder.
  await db.sql.session((s) => s.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;'));
  dir = await mkdtemp(path.join(tmpdir(), 'softudc-migrations-'));
  await cp(defaultMigrationsDir(), dir, { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const q = <R extends object>(text: string, params?: unknown[]) => db.sql.session((s) => s.query<R>(text, params));
const tableExists = async (name: string) =>
  (await q<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = $1`, [name]))[0]!.n === 1;
const addMigration = async (name: string, sql: string) => {
  await mkdir(path.join(dir, name));
  await writeFile(path.join(dir, name, 'migration.sql'), sql);
};
const errorOf = (p: Promise<unknown>) => p.then(() => expect.unreachable('expected a MigrationError'), (e: unknown) => e);

/** Applies the migrations before the one whose name ends with `suffix`; what it returns applies the rest. */
async function applyBefore(suffix: string): Promise<() => Promise<void>> {
  const later = names.slice(names.findIndex((n) => n.endsWith(suffix)));
  const held = await mkdtemp(path.join(tmpdir(), 'softudc-held-'));
  for (const n of later) await cp(path.join(dir, n), path.join(held, n), { recursive: true });
  for (const n of later) await rm(path.join(dir, n), { recursive: true });
  await applyMigrations(db.sql, { migrationsDir: dir });
  return async () => {
    for (const n of later) await cp(path.join(held, n), path.join(dir, n), { recursive: true });
    await rm(held, { recursive: true, force: true });
    expect((await applyMigrations(db.sql, { migrationsDir: dir })).applied).toEqual(later);
  };
}

describe('applyMigrations', () => {
  it('applies every migration once; running it again is a no-op', async () => {
    const first = await applyMigrations(db.sql, { migrationsDir: dir });
    expect(first).toEqual({ applied: names, alreadyApplied: [], unknown: [] });
    expect(await tableExists('Vif')).toBe(true);
    const tables = await q(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
    const second = await applyMigrations(db.sql, { migrationsDir: dir });
    expect(second).toEqual({ applied: [], alreadyApplied: names, unknown: [] });
    expect(await q(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).toEqual(tables);
    expect(await q(`SELECT count(*)::int AS n FROM "_prisma_migrations"`)).toEqual([{ n: names.length }]);
  });

  it('keeps _prisma_migrations exactly as Prisma defines it, with rows like Prisma writes', async () => {
    const before = Date.now();
    await applyMigrations(db.sql, { migrationsDir: dir });
    const columns = await q(
      `SELECT column_name AS name, data_type AS type, character_maximum_length AS len, is_nullable AS nullable,
              column_default AS "default"
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { name: 'id', type: 'character varying', len: 36, nullable: 'NO', default: null },
      { name: 'checksum', type: 'character varying', len: 64, nullable: 'NO', default: null },
      { name: 'finished_at', type: 'timestamp with time zone', len: null, nullable: 'YES', default: null },
      { name: 'migration_name', type: 'character varying', len: 255, nullable: 'NO', default: null },
      { name: 'logs', type: 'text', len: null, nullable: 'YES', default: null },
      { name: 'rolled_back_at', type: 'timestamp with time zone', len: null, nullable: 'YES', default: null },
      { name: 'started_at', type: 'timestamp with time zone', len: null, nullable: 'NO', default: 'now()' },
      { name: 'applied_steps_count', type: 'integer', len: null, nullable: 'NO', default: '0' },
    ]);
    const pk = await q(`SELECT constraint_type AS t FROM information_schema.table_constraints
                         WHERE table_name = '_prisma_migrations' AND constraint_type = 'PRIMARY KEY'`);
    expect(pk).toHaveLength(1);
    const rows = await q<{ id: string; checksum: string; finished_at: Date; migration_name: string; logs: null;
      rolled_back_at: null; started_at: Date; applied_steps_count: number }>(`SELECT * FROM "_prisma_migrations" ORDER BY started_at`);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const [i, r] of rows.entries()) {
      const bytes = await readFile(path.join(dir, names[i]!, 'migration.sql'));
      expect(r.checksum).toBe(checksumOf(bytes));
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(r.logs).toBeNull();
      expect(r.rolled_back_at).toBeNull();
      expect(r.applied_steps_count).toBe(1);
      expect(r.started_at.getTime()).toBeGreaterThanOrEqual(before - 60_000);
      expect(r.finished_at.getTime()).toBeGreaterThanOrEqual(r.started_at.getTime());
    }
  });

  it('applies only migrations added since, in name order', async () => {
    await applyMigrations(db.sql, { migrationsDir: dir });
    // Written in the opposite order to their names: the second depends on the first.
    await addMigration('29990101000001_widen', 'ALTER TABLE "Extra" ADD COLUMN "b" INTEGER NOT NULL DEFAULT 2;');
    await addMigration('29990101000000_extra', 'CREATE TABLE "Extra" ("a" INTEGER);\nINSERT INTO "Extra" VALUES (1);');
    const r = await applyMigrations(db.sql, { migrationsDir: dir });
    expect(r.applied).toEqual(['29990101000000_extra', '29990101000001_widen']);
    expect(r.alreadyApplied).toEqual(names);
    expect(await q(`SELECT a, b FROM "Extra"`)).toEqual([{ a: 1, b: 2 }]);
  });

  it('records in the audit log the duplicate VLAN claims the unique-VLAN migration removes, keeping the oldest', async () => {
    const applyRest = await applyBefore('_vnet_vlan_unique');
    // Two vnets of one farm claimed VLAN 300 on eth1 of one host, the second a second later.
    await q(`INSERT INTO "Tenant" (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 't')`);
    await q(`INSERT INTO "Farm" (id, "tenantId", name, "updatedAt") VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'f', now())`);
    for (const [id, vnid] of [['00000000-0000-4000-8000-000000000003', 100], ['00000000-0000-4000-8000-000000000004', 101]] as const) {
      await q(`INSERT INTO "Vnet" (id, "farmId", vnid, name, cidr, "updatedAt") VALUES ($1, '00000000-0000-4000-8000-000000000002', $2, $3, '10.0.0.0/24', now())`, [id, vnid, `v${vnid}`]);
    }
    await q(`INSERT INTO "Host" (id, name, address, "updatedAt") VALUES ('00000000-0000-4000-8000-000000000005', 'h', '198.18.0.1', now())`);
    await q(`INSERT INTO "VnetVlan" (id, "vnetId", "hostId", interface, vid, "createdAt") VALUES
      ('00000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000005', 'eth1', 300, now() - interval '1 second'),
      ('00000000-0000-4000-8000-000000000007', '00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000005', 'eth1', 300, now())`);
    await applyRest();
    expect(await q(`SELECT id FROM "VnetVlan"`)).toEqual([{ id: '00000000-0000-4000-8000-000000000006' }]);
    const audit = await q<{ action: string; entityId: string; tenantId: string; before: Record<string, unknown> }>(
      `SELECT action, "entityId", "tenantId", before FROM "AuditLog" WHERE entity = 'VnetVlan'`,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'vnet.vlan.dropped',
      entityId: '00000000-0000-4000-8000-000000000007',
      tenantId: '00000000-0000-4000-8000-000000000001',
      before: { vnetId: '00000000-0000-4000-8000-000000000004', interface: 'eth1', vid: 300 },
    });
  });

  it('stores each deployed VM\'s location version as the hosts\' states have it', async () => {
    const applyRest = await applyBefore('_vm_location');
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    await q(`INSERT INTO "Tenant" (id, name) VALUES ($1, 't')`, [id(1)]);
    await q(`INSERT INTO "Farm" (id, "tenantId", name, "updatedAt") VALUES ($1, $2, 'f', now())`, [id(2), id(1)]);
    await q(`INSERT INTO "Vnet" (id, "farmId", vnid, name, cidr, "updatedAt") VALUES ($1, $2, 100, 'n', '10.0.0.0/24', now())`, [id(3), id(2)]);
    await q(`INSERT INTO "Host" (id, name, address, "updatedAt") VALUES ($1, 'h', '198.18.0.1', now())`, [id(4)]);
    await q(`INSERT INTO "Vm" (id, "farmId", name, "hostId", "locationVersion", "updatedAt") VALUES ($1, $2, 'a', $3, 2, now())`, [id(5), id(2), id(4)]);
    await q(`INSERT INTO "Vif" (id, "vmId", "vnetId", name, mac, ip, "updatedAt") VALUES ($1, $2, $3, 'eth0', '02:00:00:00:00:01', '10.0.0.1', now())`, [id(6), id(5), id(3)]);
    // The hosts run version 4 (a rollback took it above the intent's 2).
    const state = { host: 'h', vifs: [{ id: id(6), version: 4 }, { id: 'gone', version: 9 }] };
    await q(`INSERT INTO "HostDesiredState" ("hostId", generation, hash, state, "updatedAt") VALUES ($1, 3, 'x', $2, now())`, [id(4), JSON.stringify(state)]);
    await applyRest();
    expect(await q(`SELECT "vmId", "hostId", version FROM "VmLocation"`)).toEqual([{ vmId: id(5), hostId: id(4), version: 4 }]);
  });

  it('refuses to start when an applied migration was edited, and applies nothing', async () => {
    await applyMigrations(db.sql, { migrationsDir: dir });
    const edited = path.join(dir, names[0]!, 'migration.sql');
    await writeFile(edited, (await readFile(edited, 'utf8')) + '\n-- a later edit\n');
    await addMigration('29990101000000_extra', 'CREATE TABLE "Extra" ("a" INTEGER);');
    const err = await errorOf(applyMigrations(db.sql, { migrationsDir: dir }));
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'CHECKSUM_MISMATCH', migration: names[0] });
    expect((err as Error).message).toContain(`migration ${names[0]} was modified after it was applied`);
    expect(await tableExists('Extra')).toBe(false);
  });

  it('rolls a failing migration back completely and records nothing, then applies it once fixed', async () => {
    await applyMigrations(db.sql, { migrationsDir: dir });
    await addMigration('29990101000000_bad', 'CREATE TABLE "Extra" ("a" INTEGER);\nSELECT no_such_column FROM "Extra";');
    const err = await errorOf(applyMigrations(db.sql, { migrationsDir: dir }));
    expect(err).toMatchObject({ code: 'APPLY_FAILED', migration: '29990101000000_bad' });
    expect((err as Error).message).toMatch(/29990101000000_bad failed and was rolled back: .*no_such_column/);
    expect(await tableExists('Extra')).toBe(false);
    expect(await q(`SELECT count(*)::int AS n FROM "_prisma_migrations"`)).toEqual([{ n: names.length }]);
    await writeFile(path.join(dir, '29990101000000_bad', 'migration.sql'), 'CREATE TABLE "Extra" ("a" INTEGER);');
    expect((await applyMigrations(db.sql, { migrationsDir: dir })).applied).toEqual(['29990101000000_bad']);
  });

  it('refuses to start over a migration Prisma recorded as failed', async () => {
    await applyMigrations(db.sql, { migrationsDir: dir });
    await q(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs) VALUES ($1, $2, $3, 'boom')`,
      ['00000000-0000-4000-8000-000000000001', '0'.repeat(64), '29990101000000_half']);
    await addMigration('29990101000001_next', 'CREATE TABLE "Extra" ("a" INTEGER);');
    const err = await errorOf(applyMigrations(db.sql, { migrationsDir: dir }));
    expect(err).toMatchObject({ code: 'FAILED_MIGRATION', migration: '29990101000000_half' });
    expect((err as Error).message).toContain('prisma migrate resolve');
    expect(await tableExists('Extra')).toBe(false);
  });

  it('ignores rolled-back rows and reports migrations it does not know', async () => {
    await applyMigrations(db.sql, { migrationsDir: dir });
    await q(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
             VALUES ($1, $2, '29990101000009_from_newer_console', now(), 1)`, ['00000000-0000-4000-8000-000000000002', '1'.repeat(64)]);
    await addMigration('29990101000000_retry', 'CREATE TABLE "Extra" ("a" INTEGER);');
    await q(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, rolled_back_at)
             VALUES ($1, $2, '29990101000000_retry', now())`, ['00000000-0000-4000-8000-000000000003', '2'.repeat(64)]);
    const r = await applyMigrations(db.sql, { migrationsDir: dir });
    expect(r).toEqual({ applied: ['29990101000000_retry'], alreadyApplied: names, unknown: ['29990101000009_from_newer_console'] });
  });

  it('says which folder has no migrations', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'softudc-empty-'));
    try {
      const err = await errorOf(applyMigrations(db.sql, { migrationsDir: empty }));
      expect(err).toMatchObject({ code: 'NO_MIGRATIONS' });
      expect((err as Error).message).toContain(empty);
    } finally {
      await rm(empty, { recursive: true });
    }
  });

  it('lets concurrent runners apply each migration exactly once', async () => {
    // On Postgres each runner has its own pool, as separate console processes
    // would; a fourth connection holds the lock first so that all of them wait.
    const pools = db.kind === 'postgres' ? [1, 2, 3].map(() => new pg.Pool({ connectionString: db.url!, max: 2 })) : [];
    const execs: SqlExecutor[] = db.kind === 'postgres' ? pools.map(pgExecutor) : [db.sql, db.sql, db.sql];
    const holder = db.kind === 'postgres' ? new pg.Client({ connectionString: db.url! }) : null;
    let waiting = 0;
    try {
      await holder?.connect();
      await holder?.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
      const running = Promise.all(
        execs.map((e) => applyMigrations(e, { migrationsDir: dir, log: (l) => void (l.startsWith('waiting') && waiting++) })),
      );
      if (holder) {
        await expect.poll(() => waiting, { timeout: 10_000 }).toBe(3);
        expect(await tableExists('_prisma_migrations')).toBe(false);
        await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
      }
      const results: MigrateResult[] = await running;
      expect(results.flatMap((r) => r.applied).sort()).toEqual([...names].sort());
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
      expect(await q(`SELECT count(*)::int AS n FROM "_prisma_migrations"`)).toEqual([{ n: names.length }]);
    } finally {
      await holder?.end();
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
