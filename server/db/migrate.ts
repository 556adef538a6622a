// Applies prisma/migrations/*/migration.sql in name order and records each in
// Prisma's own `_prisma_migrations` table, so a database migrated here is one
// `prisma migrate deploy` recognises, and the reverse. The Prisma schema
// engine is not used at run time: it is a native binary downloaded on demand.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlExecutor, SqlSession } from './sql.ts';

/**
 * Key of the session advisory lock Prisma's schema engine takes around
 * migrate commands (prisma-engines, sql-schema-connector postgres flavour:
 * `SELECT pg_advisory_lock(72707369)`). Using the same key keeps this runner
 * and a concurrent `prisma migrate deploy` from interleaving.
 */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

/** The table exactly as Prisma's schema engine creates it on Postgres. */
export const PRISMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export type MigrationErrorCode = 'NO_MIGRATIONS' | 'CHECKSUM_MISMATCH' | 'FAILED_MIGRATION' | 'APPLY_FAILED';

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    readonly migration?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export interface MigrationFile {
  name: string;
  sql: string;
  /** sha-256 of the file's bytes, lower-case hex, as Prisma computes it. */
  checksum: string;
}

export interface MigrateOptions {
  /** Folder holding `<name>/migration.sql`; defaults to `prisma/migrations` (see `defaultMigrationsDir`). */
  migrationsDir?: string;
  /** Progress lines (one per applied migration, and lock waits). */
  log?: (line: string) => void;
}

export interface MigrateResult {
  /** Applied by this call, in order. */
  applied: string[];
  /** Already recorded as applied before this call. */
  alreadyApplied: string[];
  /** Recorded in the database but absent from the folder (a newer console migrated it). */
  unknown: string[];
}

export function defaultMigrationsDir(): string {
  const fromCwd = path.resolve(process.cwd(), 'prisma/migrations');
  if (existsSync(fromCwd)) return fromCwd;
  // Started from another directory: fall back to the checkout this file is in.
  // (path.join, not `new URL(…, import.meta.url)`, which bundlers treat as an asset to copy.)
  return path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma', 'migrations');
}

export function checksumOf(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads every `<dir>/<name>/migration.sql`, sorted by name (Prisma's order). */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new MigrationError('NO_MIGRATIONS', `migrations folder ${dir} cannot be read`, undefined, { cause: err });
  }
  const names = entries
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) throw new MigrationError('NO_MIGRATIONS', `no */migration.sql in ${dir}`);
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(path.join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: checksumOf(bytes) };
    }),
  );
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

/**
 * Brings the database up to date. Safe to call from several processes at
 * once: on Postgres the whole run holds Prisma's advisory lock. Refuses to
 * start (applying nothing) when an applied migration's file has changed or
 * when Prisma recorded a failed migration that nobody resolved.
 */
export async function applyMigrations(exec: SqlExecutor, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const files = await readMigrations(opts.migrationsDir ?? defaultMigrationsDir());
  const log = opts.log ?? (() => {});
  return exec.session(async (s) => {
    if (exec.kind !== 'postgres') return migrateLocked(s, files, log); // one process owns a PGlite
    await lock(s, log);
    let done = false;
    try {
      const result = await migrateLocked(s, files, log);
      done = true;
      return result;
    } finally {
      const unlock = s.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
      // After a failure the session's connection is destroyed, which frees the lock anyway:
      // keep the original error rather than one from unlocking.
      await (done ? unlock : unlock.catch(() => {}));
    }
  });
}

async function lock(s: SqlSession, log: (line: string) => void): Promise<void> {
  const [got] = await s.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [PRISMA_ADVISORY_LOCK_KEY]);
  if (got?.ok) return;
  log('waiting for another process to finish migrating');
  await s.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
}

async function migrateLocked(s: SqlSession, files: MigrationFile[], log: (line: string) => void): Promise<MigrateResult> {
  await s.exec(PRISMA_MIGRATIONS_DDL);
  // Rolled-back rows (`prisma migrate resolve --rolled-back`) do not count as applied.
  const rows = await s.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"
      WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  const failed = rows.find((r) => r.finished_at === null);
  if (failed) {
    throw new MigrationError(
      'FAILED_MIGRATION',
      `migration ${failed.migration_name} is recorded as started but never finished; ` +
        `fix the database, then mark it with \`prisma migrate resolve --applied|--rolled-back ${failed.migration_name}\``,
      failed.migration_name,
    );
  }
  const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
  for (const f of files) {
    const recorded = applied.get(f.name);
    if (recorded !== undefined && recorded !== f.checksum) {
      throw new MigrationError(
        'CHECKSUM_MISMATCH',
        `migration ${f.name} was modified after it was applied (recorded checksum ${recorded}, ` +
          `file now ${f.checksum}); restore prisma/migrations/${f.name}/migration.sql and put changes in a new migration`,
        f.name,
      );
    }
  }
  const known = new Set(files.map((f) => f.name));
  const result: MigrateResult = {
    applied: [],
    alreadyApplied: files.filter((f) => applied.has(f.name)).map((f) => f.name),
    unknown: [...applied.keys()].filter((n) => !known.has(n)),
  };
  for (const f of files) {
    if (applied.has(f.name)) continue;
    await applyOne(s, f);
    result.applied.push(f.name);
    log(`applied migration ${f.name}`);
  }
  return result;
}

async function applyOne(s: SqlSession, f: MigrationFile): Promise<void> {
  try {
    // The script, and the row saying it ran, commit together or not at all;
    // so unlike a failed `prisma migrate deploy`, a failure here leaves no row.
    await s.transaction(async (tx) => {
      const id = randomUUID();
      await tx.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
         VALUES ($1, $2, $3, clock_timestamp(), 0)`,
        [id, f.checksum, f.name],
      );
      await tx.exec(f.sql);
      await tx.query(
        `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
        [id],
      );
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new MigrationError('APPLY_FAILED', `migration ${f.name} failed and was rolled back: ${why}`, f.name, {
      cause: err,
    });
  }
}
