// The embedded database: PGlite in a directory. PGlite is Postgres in one
// process with no postmaster, so nothing stops a second process from opening
// the same directory and corrupting it; a lock file beside the directory does.
import { consoleConfig } from '../../config/index.ts';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { DatabaseError } from './errors.ts';

export interface EmbeddedDb {
  pglite: PGlite;
  /** Closes PGlite, then gives up the directory. */
  close(): Promise<void>;
}

export async function openEmbedded(dataDir: string | undefined): Promise<EmbeddedDb> {
  const dir = dataDir ?? consoleConfig().SOFTUDC_DATA_DIR;
  const inMemory = dir.startsWith('memory://');
  const abs = inMemory ? dir : path.resolve(/*turbopackIgnore: true*/ dir);
  let unlock = async () => {};
  try {
    if (!inMemory) {
      await mkdir(abs, { recursive: true });
      unlock = await lockDir(abs, dir);
    }
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create(abs);
    return { pglite, close: () => pglite.close().finally(unlock) };
  } catch (err) {
    await unlock();
    if (err instanceof DatabaseError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new DatabaseError('DATA_DIR', `cannot open the embedded database in ${dir} (SOFTUDC_DATA_DIR): ${why}`, {
      cause: err,
    });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<dir>.lock` (holding our pid); a lock whose process is gone is taken over. */
async function lockDir(abs: string, shown: string): Promise<() => Promise<void>> {
  const file = `${abs}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(file, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      const who = pid === process.pid ? 'this process already' : `process ${pid}`;
      throw new DatabaseError(
        'DATA_DIR_IN_USE',
        `the embedded database in ${shown} is in use by ${who}; stop it, or set DATABASE_URL ` +
          'so that several console processes share one Postgres',
      );
    }
    await rm(file, { force: true }); // left by a process that died
  }
  throw new DatabaseError('DATA_DIR_IN_USE', `cannot take the lock ${file} for the embedded database in ${shown}`);
}
