// A fresh, migrated database for one test file. With DATABASE_URL set it is
// a new database on that Postgres server (dropped afterwards); without it, an
// in-memory PGlite. Tests never share a database, so they never see each
// other's rows and may run in parallel.
import { consoleConfig } from '../config/index.ts';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { openDatabase, redactUrl, type Db, type DbKind, type RawDb, type SqlExecutor } from '../server/db/index.ts';
import { applyMigrations, defaultMigrationsDir, readMigrations } from '../server/db/migrate.ts';
import { describeError } from '../server/db/errors.ts';
import { pgliteExecutor } from '../server/db/sql.ts';
import { requireAll } from './require.ts';

export interface TestDb {
  prisma: Db;
  /** URL of the test database (Postgres), or null for in-memory PGlite. */
  url: string | null;
  kind: DbKind;
  /** The pg.Pool or PGlite behind `prisma` (LISTEN/NOTIFY, raw SQL). */
  raw: RawDb;
  sql: SqlExecutor;
  /** Disconnects and, on Postgres, drops the database. Idempotent. */
  drop(): Promise<void>;
}

export interface CreateTestDbOptions {
  /** Apply prisma/migrations (default true). False gives an empty database. */
  migrate?: boolean;
  /** A Postgres server to create the database on instead of DATABASE_URL's (never PGlite then). */
  serverUrl?: string;
}

/** Test databases are named softudc_t_<hex>, so ones left by a killed run are easy to find. */
export const TEST_DB_PREFIX = 'softudc_t_';

/** The same server's `postgres` maintenance database, where CREATE/DROP DATABASE run. */
function maintenanceUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

async function withMaintenance<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: maintenanceUrl(url), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createTestDb(opts: CreateTestDbOptions = {}): Promise<TestDb> {
  const baseUrl = opts.serverUrl ?? consoleConfig().DATABASE_URL;
  if (baseUrl) {
    const name = TEST_DB_PREFIX + randomBytes(6).toString('hex');
    try {
      await withMaintenance(baseUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
    } catch (err) {
      const why = `DATABASE_URL is set but Postgres at ${redactUrl(baseUrl)} is unreachable: ${describeError(err)}`;
      if (requireAll || opts.serverUrl) throw new Error(`${requireAll ? 'SOFTUDC_REQUIRE_ALL=1: ' : ''}${why}`, { cause: err });
      console.warn(`[db] ${why}; using in-memory PGlite instead`);
      return createPgliteDb(opts);
    }
    const u = new URL(baseUrl);
    u.pathname = `/${name}`;
    const url = u.toString();
    let db;
    try {
      // A small pool: several test files run at once against one server.
      db = await openDatabase({ databaseUrl: url, migrate: opts.migrate, poolSize: 4 });
    } catch (err) {
      await dropDatabase(baseUrl, name).catch(() => {});
      throw err;
    }
    const opened = db;
    let dropping: Promise<void> | undefined;
    return {
      prisma: opened.prisma,
      url,
      kind: 'postgres',
      raw: opened.raw,
      sql: opened.sql,
      drop: () => (dropping ??= opened.close().finally(() => dropDatabase(baseUrl, name))),
    };
  }
  return createPgliteDb(opts);
}

async function createPgliteDb(opts: CreateTestDbOptions): Promise<TestDb> {
  // A migrated database starts from a snapshot: PGlite's initdb costs about
  // 2 s per instance, loading a migrated data directory about 0.5 s.
  const pglite =
    opts.migrate === false
      ? await PGlite.create('memory://')
      : await PGlite.create('memory://', { loadDataDir: await migratedSnapshot() });
  // Migrating again is then a check that the snapshot is current, not a rebuild.
  const db = await openDatabase({ pglite, migrate: opts.migrate });
  let dropping: Promise<void> | undefined;
  return {
    prisma: db.prisma,
    url: null,
    kind: 'pglite',
    raw: db.raw,
    sql: db.sql,
    drop: () => (dropping ??= db.close()),
  };
}

let snapshot: Promise<Blob> | undefined;

async function pgliteVersion(): Promise<string> {
  // The package does not export its package.json: walk up from its entry point.
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === '@electric-sql/pglite') return pkg.version;
    } catch {
      // no package.json here
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the version of @electric-sql/pglite');
    dir = up;
  }
}

/**
 * A gzipped PGlite data directory with every migration applied, cached on
 * disk under node_modules/.cache by the PGlite version and the migrations'
 * checksums, so it is rebuilt exactly when either changes.
 */
function migratedSnapshot(): Promise<Blob> {
  snapshot ??= (async () => {
    const version = await pgliteVersion();
    const files = await readMigrations(defaultMigrationsDir());
    const key = createHash('sha256')
      .update([version, ...files.map((f) => `${f.name}:${f.checksum}`)].join('\n'))
      .digest('hex')
      .slice(0, 16);
    const dir = path.resolve('node_modules/.cache/softudc');
    const file = path.join(dir, `pglite-migrated-${key}.tar.gz`);
    const type = 'application/x-gzip';
    try {
      return new Blob([await readFile(file)], { type });
    } catch {
      // not built yet
    }
    const pglite = await PGlite.create('memory://');
    try {
      await applyMigrations(pgliteExecutor(pglite));
      const blob = await pglite.dumpDataDir('gzip');
      await mkdir(dir, { recursive: true });
      // Parallel test files may build it at once: each renames its own copy into place.
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      await writeFile(tmp, Buffer.from(await blob.arrayBuffer()));
      await rename(tmp, file);
      return new Blob([await blob.arrayBuffer()], { type });
    } finally {
      await pglite.close();
    }
  })();
  snapshot.catch(() => (snapshot = undefined));
  return snapshot;
}

async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  // WITH (FORCE) (Postgres 13+) ends connections a test forgot to close.
  await withMaintenance(baseUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
