// A minimal raw-SQL seam over the two engines the console runs on: a `pg.Pool`
// (shared Postgres, several console processes) and an embedded PGlite (one
// process owns the data directory). The migration runner and LISTEN/NOTIFY
// code speak to this instead of to Prisma, which cannot run multi-statement
// scripts or hold session-level advisory locks.
import type { PGlite, Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type pg from 'pg';

export type DbKind = 'postgres' | 'pglite';

/** Statements on one connection, inside a transaction. */
export interface SqlTx {
  query<R extends object = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a multi-statement script (simple query protocol, no parameters). */
  exec(script: string): Promise<void>;
}

/** Statements on one dedicated connection (session-level locks live as long as it). */
export interface SqlSession extends SqlTx {
  /** BEGIN … COMMIT around `fn`; ROLLBACK and rethrow when it throws. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
}

export interface SqlExecutor {
  readonly kind: DbKind;
  /** Runs `fn` on one connection held for its whole duration. */
  session<T>(fn: (s: SqlSession) => Promise<T>): Promise<T>;
}

/** The driver objects behind a database, for code that needs more than Prisma (LISTEN/NOTIFY). */
export type RawDb = { kind: 'postgres'; pool: pg.Pool } | { kind: 'pglite'; pglite: PGlite };

function pgClientTx(client: pg.PoolClient | pg.Client): SqlTx {
  return {
    async query<R extends object>(text: string, params?: unknown[]) {
      const res = await client.query(text, params as unknown[] | undefined);
      return res.rows as R[];
    },
    async exec(script: string) {
      // No parameters: pg uses the simple protocol, which accepts several statements.
      await client.query(script);
    },
  };
}

export function pgExecutor(pool: pg.Pool): SqlExecutor {
  return {
    kind: 'postgres',
    async session(fn) {
      const client = await pool.connect();
      let failed: Error | undefined;
      try {
        const tx = pgClientTx(client);
        return await fn({
          ...tx,
          async transaction(body) {
            await client.query('BEGIN');
            try {
              const out = await body(tx);
              await client.query('COMMIT');
              return out;
            } catch (err) {
              await client.query('ROLLBACK').catch(() => {});
              throw err;
            }
          },
        });
      } catch (err) {
        failed = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        // After a failure the connection may still hold session state (an
        // advisory lock, an aborted transaction): destroy it rather than
        // hand it back to the pool.
        client.release(failed);
      }
    },
  };
}

function pgliteTx(t: PGlite | PGliteTransaction): SqlTx {
  return {
    async query<R extends object>(text: string, params?: unknown[]) {
      const res = await t.query<R>(text, params as unknown[] | undefined);
      return res.rows;
    },
    async exec(script: string) {
      await t.exec(script);
    },
  };
}

// Sessions on one PGlite instance run one after the other, as if each held
// the only connection (which, in effect, it does).
const pgliteSessionTail = new WeakMap<PGlite, Promise<unknown>>();

export function pgliteExecutor(db: PGlite): SqlExecutor {
  return {
    kind: 'pglite',
    session(fn) {
      const prev = pgliteSessionTail.get(db) ?? Promise.resolve();
      const run = prev.then(() => fn(pgliteSession(db)));
      pgliteSessionTail.set(db, run.catch(() => undefined));
      return run;
    },
  };
}

function pgliteSession(db: PGlite): SqlSession {
  // PGlite's transaction() holds the instance's mutex, so other callers
  // (Prisma included) wait until it commits or rolls back.
  return { ...pgliteTx(db), transaction: (body) => db.transaction((t) => body(pgliteTx(t))) };
}

export function executorFor(raw: RawDb): SqlExecutor {
  return raw.kind === 'postgres' ? pgExecutor(raw.pool) : pgliteExecutor(raw.pglite);
}

/**
 * A connection URL fit for messages and logs: the password (and a
 * `password` query parameter) replaced by `***`. Never echoes an unparsable
 * URL, since it could be a password pasted in the wrong place.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    // Without "scheme://", WHATWG parsing would keep "user:password@host" as a path.
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new Error('no authority');
    u = new URL(url);
  } catch {
    return '<unparsable URL>';
  }
  if (u.password) u.password = '***';
  for (const key of [...u.searchParams.keys()]) {
    if (/pass|secret|token|key/i.test(key)) u.searchParams.set(key, '***');
  }
  return u.toString();
}
