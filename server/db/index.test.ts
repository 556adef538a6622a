// openDatabase / getDb: engine choice, persistence of the embedded database,
// the process-wide singleton, and errors that name DATABASE_URL without ever
// showing its password.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/db.ts';
import { closeDb, DatabaseError, getDatabase, getDb, openDatabase, redactUrl } from './index.ts';

const errorOf = (p: Promise<unknown>) => p.then(() => expect.unreachable('expected an error'), (e: unknown) => e);

describe('redactUrl', () => {
  it('hides passwords in the userinfo and in query parameters', () => {
    expect(redactUrl('postgresql://app:hunter2@db.example:5432/softudc?sslmode=require&password=hunter3'))
      .toBe('postgresql://app:***@db.example:5432/softudc?sslmode=require&password=***');
    expect(redactUrl('postgresql://postgres@127.0.0.1/x')).toBe('postgresql://postgres@127.0.0.1/x');
  });
  it('never echoes a URL it cannot parse', () => {
    expect(redactUrl('app:hunter2@nowhere')).not.toContain('hunter2');
  });
});

describe('openDatabase errors', () => {
  it('names DATABASE_URL and the redacted address when Postgres is unreachable', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const err = await errorOf(openDatabase({ databaseUrl: 'postgresql://softudc:s3cret-pw@127.0.0.1:1/softudc' }));
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err).toMatchObject({ code: 'UNREACHABLE' });
    const msg = (err as Error).message;
    expect(msg).toContain('DATABASE_URL');
    expect(msg).toContain('postgresql://softudc:***@127.0.0.1:1/softudc');
    expect(msg).toMatch(/ECONNREFUSED/);
    expect(msg + String((err as Error).stack)).not.toContain('s3cret-pw');
  });

  it('rejects a URL that is not postgresql:// without echoing it', async () => {
    const err = await errorOf(openDatabase({ databaseUrl: 'mysql://root:s3cret-pw@127.0.0.1/softudc' }));
    expect(err).toMatchObject({ code: 'BAD_URL' });
    expect((err as Error).message).toContain('DATABASE_URL');
    expect((err as Error).message).not.toContain('s3cret-pw');
  });
});

describe('embedded PGlite', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('keeps its data in dataDir across restarts, migrates only once, and admits one process at a time', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'softudc-pglite-'));
    const dataDir = path.join(dir, 'nested', 'pglite');
    const first = await openDatabase({ databaseUrl: '', dataDir });
    expect(first.kind).toBe('pglite');
    expect(first.raw.kind === 'pglite' && first.raw.pglite).toBeInstanceOf(PGlite);
    expect(first.migrations?.applied.length).toBeGreaterThan(0);
    await first.prisma.tenant.create({ data: { name: 'kept' } });
    // A second opener (another console process, in real life) is refused, not let in to corrupt it.
    const busy = await errorOf(openDatabase({ databaseUrl: '', dataDir }));
    expect(busy).toMatchObject({ code: 'DATA_DIR_IN_USE' });
    expect((busy as Error).message).toContain('DATABASE_URL');
    await first.close();
    await first.close(); // idempotent
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    // A lock left by a process that died is taken over.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(`${dataDir}.lock`, String(dead));

    const second = await openDatabase({ databaseUrl: '', dataDir });
    try {
      expect(second.migrations).toMatchObject({ applied: [], alreadyApplied: first.migrations!.applied });
      expect(await second.prisma.tenant.findMany({ select: { name: true } })).toEqual([{ name: 'kept' }]);
    } finally {
      await second.close();
    }
  }, 120_000); // three cold starts of the embedded database, each running every migration

  it('opens without migrating when asked', async () => {
    const db = await openDatabase({ databaseUrl: '', dataDir: 'memory://', migrate: false });
    try {
      expect(db.migrations).toBeNull();
      const rows = await db.sql.session((s) => s.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`));
      expect(rows).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe('getDb', () => {
  const saved = { url: process.env.DATABASE_URL, dir: process.env.SOFTUDC_DATA_DIR };
  afterEach(async () => {
    await closeDb();
    process.env.DATABASE_URL = saved.url;
    process.env.SOFTUDC_DATA_DIR = saved.dir;
    if (saved.url === undefined) delete process.env.DATABASE_URL;
    if (saved.dir === undefined) delete process.env.SOFTUDC_DATA_DIR;
  });

  it('is one migrated client per process, kept on globalThis, reopened after closeDb', async () => {
    // Point the singleton at a throwaway database of the kind this run uses.
    const scratch = process.env.DATABASE_URL ? await createTestDb({ migrate: false }) : null;
    try {
      if (scratch?.url) process.env.DATABASE_URL = scratch.url;
      else {
        delete process.env.DATABASE_URL;
        process.env.SOFTUDC_DATA_DIR = 'memory://';
      }
      const [a, b] = await Promise.all([getDb(), getDb()]);
      expect(a).toBe(b);
      const held = (globalThis as Record<symbol, { opening?: Promise<unknown> }>)[Symbol.for('softudc.db')];
      expect(await held?.opening).toBe(await getDatabase());
      const opened = await getDatabase();
      expect(opened.kind).toBe(scratch?.kind ?? 'pglite');
      if (opened.raw.kind === 'postgres') expect(opened.raw.pool).toBeInstanceOf(pg.Pool);
      expect(await a.tenant.count()).toBe(0); // migrated: the table exists
      await closeDb();
      const c = await getDb();
      expect(c).not.toBe(a);
      expect(await c.tenant.count()).toBe(0);
    } finally {
      await closeDb();
      await scratch?.drop();
    }
  });
});
