// Opens the console's database: a shared Postgres when DATABASE_URL is set
// (several console processes, LISTEN/NOTIFY fan-out), otherwise an embedded
// PGlite in a local directory, so `npm start` works with nothing installed.
// Either way the schema is brought up to date before Prisma is handed out.
import { consoleLogger } from '../../log/index.ts';
import { consoleConfig } from '../../config/index.ts';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { PrismaClient } from './generated/client.ts';
import { DatabaseError, describeError } from './errors.ts';
import { applyMigrations, type MigrateResult } from './migrate.ts';
import { pgAdapter } from './pgAdapter.ts';
import { openEmbedded } from './pglite.ts';
import { executorFor, redactUrl, type DbKind, type RawDb, type SqlExecutor } from './sql.ts';

export type Db = PrismaClient;
export type { DbKind, RawDb, SqlExecutor, SqlSession, SqlTx } from './sql.ts';
export { executorFor, redactUrl } from './sql.ts';
export { applyMigrations, MigrationError, type MigrateResult } from './migrate.ts';
export { DatabaseError, type DatabaseErrorCode } from './errors.ts';

export interface OpenDatabaseOptions {
  /** Postgres URL; defaults to `process.env.DATABASE_URL`. Empty or unset: embedded PGlite. */
  databaseUrl?: string;
  /** PGlite data directory; defaults to `$SOFTUDC_DATA_DIR` or `./data/pglite`. `memory://` keeps it in memory. */
  dataDir?: string;
  /** Use this PGlite instance (closed by `close()`) instead of opening one; wins over the URL. */
  pglite?: PGlite;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  /** Most Postgres connections in the pool Prisma uses (default 10). */
  poolSize?: number;
  /** Migration progress lines. */
  log?: (line: string) => void;
}

export interface OpenedDatabase {
  prisma: Db;
  kind: DbKind;
  /** The pg.Pool or the PGlite instance behind `prisma`. */
  raw: RawDb;
  /** Runs raw SQL on `raw` (multi-statement scripts, transactions, session locks). */
  sql: SqlExecutor;
  /** What the migration step did; null when opened with `migrate: false`. */
  migrations: MigrateResult | null;
  /** Disconnects Prisma, then ends the pool or closes PGlite. Idempotent. */
  close(): Promise<void>;
}

/** How long to wait for a Postgres connection before reporting it unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

export async function openDatabase(opts: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  const url = opts.databaseUrl ?? consoleConfig().DATABASE_URL ?? '';
  let closeRaw: () => Promise<void>;
  let raw: RawDb;
  if (opts.pglite) {
    const pglite = opts.pglite;
    raw = { kind: 'pglite', pglite };
    closeRaw = () => pglite.close();
  } else if (url) {
    const pool = await connectPostgres(url, opts.poolSize ?? 10);
    raw = { kind: 'postgres', pool };
    closeRaw = () => pool.end();
  } else {
    const embedded = await openEmbedded(opts.dataDir);
    raw = { kind: 'pglite', pglite: embedded.pglite };
    closeRaw = embedded.close;
  }
  const sql = executorFor(raw);
  let prisma: Db | undefined;
  try {
    const migrations = opts.migrate === false ? null : await applyMigrations(sql, { log: opts.log });
    prisma = new PrismaClient({ adapter: await adapterFor(raw) });
    let closing: Promise<void> | undefined;
    const client = prisma;
    return {
      prisma: client,
      kind: raw.kind,
      raw,
      sql,
      migrations,
      close: () => (closing ??= client.$disconnect().finally(closeRaw)),
    };
  } catch (err) {
    await prisma?.$disconnect().catch(() => {});
    await closeRaw().catch(() => {});
    throw err;
  }
}

async function adapterFor(raw: RawDb) {
  if (raw.kind === 'postgres') return pgAdapter(raw.pool);
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  return new PrismaPGlite(raw.pglite);
}

async function connectPostgres(url: string, max: number): Promise<pg.Pool> {
  const shown = redactUrl(url);
  if (!/^postgres(ql)?:$/.test(safeProtocol(url))) {
    throw new DatabaseError('BAD_URL', `DATABASE_URL must be a postgresql:// URL (got ${shown})`);
  }
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle connection dropped by the server must not crash the process; the
  // pool replaces it on next use.
  pool.on('error', (err) => consoleLogger().warn('idle Postgres connection lost', { database: shown, error: err.message }));
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new DatabaseError(
      'UNREACHABLE',
      `cannot connect to Postgres at ${shown} (from DATABASE_URL): ${describeError(err)}. ` +
        'Start Postgres, fix DATABASE_URL, or unset it to use the embedded database.',
      { cause: err },
    );
  }
  return pool;
}

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}

// One database per process. Kept on globalThis so that Next.js dev reloads,
// which re-evaluate this module, reuse the pool instead of opening another.
const GLOBAL_KEY = Symbol.for('softudc.db');
type Holder = { opening?: Promise<OpenedDatabase> };
function holder(): Holder {
  const g = globalThis as typeof globalThis & { [GLOBAL_KEY]?: Holder };
  return (g[GLOBAL_KEY] ??= {});
}

/** The process-wide database (opened and migrated on first use). */
export function getDatabase(): Promise<OpenedDatabase> {
  const h = holder();
  if (!h.opening) {
    const opening = openDatabase();
    h.opening = opening;
    // A failed open is not cached: the next call tries again.
    opening.catch(() => {
      if (h.opening === opening) h.opening = undefined;
    });
  }
  return h.opening;
}

/** The process-wide Prisma client. */
export async function getDb(): Promise<Db> {
  return (await getDatabase()).prisma;
}

/** Closes the process-wide database (shutdown); a later getDb() opens it again. */
export async function closeDb(): Promise<void> {
  const h = holder();
  const opening = h.opening;
  h.opening = undefined;
  if (opening) await (await opening.catch(() => null))?.close();
}
