// What a managed agent keeps on its own disk, in its state directory:
//   credential.json  {console, hostId, hostName, credential}, mode 0600: the
//                    host credential is a secret (whoever reads it can act as
//                    this host towards the console).
//   state.json       the last applied desired state (agent state schema, with
//                    its generation), so a restarted agent forwards at once,
//                    before (or without) reaching the console.
// Both are written atomically (temporary file, fsync, rename, fsync of the
// directory): a crash leaves either the old file or the new one, never half.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { HOST_CREDENTIAL_PREFIX } from '../../contract/enroll.ts';
import { parseState, StateError, type AgentState } from '../state.ts';

export const CREDENTIAL_FILE = 'credential.json';
export const STATE_FILE = 'state.json';
/** Owner read/write only: the credential and the state (it may carry a VARP key). */
export const SECRET_FILE_MODE = 0o600;
export const STATE_DIR_MODE = 0o700;

/** `/var/lib/softudc-agent` for root (a system service), else `~/.softudc-agent`. */
export function defaultStateDir(): string {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return root ? '/var/lib/softudc-agent' : join(homedir(), '.softudc-agent');
}

export class StoreError extends Error {
  constructor(
    readonly code: 'BAD_CREDENTIAL_FILE' | 'STATE_DIR',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export const storedCredentialSchema = z.object({
  console: z.url({ protocol: /^https?$/ }),
  hostId: z.string().min(1),
  hostName: z.string().min(1),
  credential: z.string().startsWith(HOST_CREDENTIAL_PREFIX, { message: `must start with ${HOST_CREDENTIAL_PREFIX}` }),
});
export type StoredCredential = z.output<typeof storedCredentialSchema>;

/** Creates the state directory (0700) when missing; refuses a path that is not a directory. */
export async function ensureStateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: STATE_DIR_MODE });
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new StoreError('STATE_DIR', `--state-dir ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes `text` to `path` atomically with `mode`. */
export async function writeFileAtomic(path: string, text: string, mode = SECRET_FILE_MODE): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  // open() honours the umask; the file must end up exactly `mode`.
  await chmod(tmp, mode);
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(path);
}

async function syncDir(file: string): Promise<void> {
  try {
    const dh = await open(dirname(file), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The stored credential, or null when the agent has not enrolled yet. */
export async function readCredential(dir: string): Promise<StoredCredential | null> {
  const path = join(dir, CREDENTIAL_FILE);
  const text = await readIfExists(path);
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StoreError('BAD_CREDENTIAL_FILE', `${path} is not valid JSON; remove it and enroll again with a new token`);
  }
  const r = storedCredentialSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    // Never quote the value: it may be (part of) the credential.
    throw new StoreError('BAD_CREDENTIAL_FILE', `${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}; remove it and enroll again`);
  }
  return r.data;
}

export async function writeCredential(dir: string, cred: StoredCredential): Promise<void> {
  await ensureStateDir(dir);
  await writeFileAtomic(join(dir, CREDENTIAL_FILE), JSON.stringify(storedCredentialSchema.parse(cred), null, 2) + '\n');
}

export type PersistedState =
  | { kind: 'none' }
  | { kind: 'ok'; state: AgentState }
  /** Present but unusable: the agent starts without it and says why. */
  | { kind: 'invalid'; reason: string };

export async function readPersistedState(dir: string): Promise<PersistedState> {
  const path = join(dir, STATE_FILE);
  const text = await readIfExists(path);
  if (text === null) return { kind: 'none' };
  try {
    return { kind: 'ok', state: parseState(JSON.parse(text)) };
  } catch (err) {
    const why = err instanceof StateError ? err.message : `not valid JSON: ${(err as Error).message}`;
    return { kind: 'invalid', reason: `${path}: ${why}` };
  }
}

/** Persists an applied state (the raw document as received, generation included). */
export async function writePersistedState(dir: string, state: unknown): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILE), JSON.stringify(state) + '\n');
}
