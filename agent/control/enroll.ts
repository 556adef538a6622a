// Enrollment: the agent trades its one-time token (`sude_…`) for its host
// credential (`sudh_…`) and keeps it in the state directory. Neither value is
// ever logged; errors say what to do instead.
import { readFileSync } from 'node:fs';
import { createConsoleClient, describeError, errorCode } from './client.ts';
import { enrollAnswerSchema, ENROLLMENT_TOKEN_PREFIX } from '../../contract/enroll.ts';
import { guestCapability } from '../../contract/report.ts';
import { readCredential, writeCredential, type StoredCredential } from './store.ts';

export { ENROLLMENT_TOKEN_PREFIX };

export class EnrollError extends Error {
  constructor(
    readonly code: 'NO_TOKEN' | 'BAD_TOKEN' | 'REFUSED' | 'UNREACHABLE' | 'BAD_ANSWER' | 'NO_CONSOLE',
    message: string,
    readonly field: 'token' | 'console' = 'token',
  ) {
    super(message);
    this.name = 'EnrollError';
  }
}

let cachedVersion: string | undefined;
/** This agent's version (the package's), sent at enrollment and in every report. */
export function agentVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    } catch {
      cachedVersion = '0.0.0';
    }
  }
  return cachedVersion;
}

/** What this agent can run, so the console places only what fits. */
export function agentCapabilities(): string[] {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return (root ? ['emulated', 'tap'] : ['emulated']).map(guestCapability);
}

export async function enroll(opts: { consoleUrl: string; token: string }): Promise<StoredCredential> {
  const token = opts.token.trim();
  if (!token.startsWith(ENROLLMENT_TOKEN_PREFIX)) {
    throw new EnrollError('BAD_TOKEN', `--token: an enrollment token starts with ${ENROLLMENT_TOKEN_PREFIX}; ask an admin for one (host.createEnrollmentToken)`);
  }
  const client = createConsoleClient({ url: opts.consoleUrl });
  let answer: unknown;
  try {
    answer = await client.mutation('host.enroll', { token, agentVersion: agentVersion(), capabilities: agentCapabilities() });
  } catch (err) {
    const code = errorCode(err);
    if (code === 'UNAUTHORIZED' || code === 'BAD_REQUEST') {
      throw new EnrollError('REFUSED', '--token: the console refused the enrollment token (unknown, already used or expired); ask an admin for a new one');
    }
    throw new EnrollError('UNREACHABLE', `--console: enrollment at ${opts.consoleUrl} failed: ${describeError(err)}`, 'console');
  }
  const r = enrollAnswerSchema.safeParse(answer);
  if (!r.success) throw new EnrollError('BAD_ANSWER', `--console: ${opts.consoleUrl} answered host.enroll with an unexpected shape`, 'console');
  return { console: opts.consoleUrl, hostId: r.data.hostId, hostName: r.data.hostName, credential: r.data.credential };
}

/**
 * The credential for this state directory: the stored one, or a fresh one
 * from enrollment (then stored, 0600). `consoleUrl` overrides the stored
 * console address (the console moved); a token is needed only to enroll.
 *
 * A token given while a credential is stored means "enroll again" (the old
 * credential was revoked, or the host was re-created): the token is tried
 * and, when the console accepts it, the new credential replaces the old one.
 * When the console refuses the token or cannot be reached, the stored
 * credential stays in use, so a restart with a spent token never strands a
 * working agent; `note` says why for the log.
 */
export async function ensureCredential(opts: {
  stateDir: string;
  consoleUrl?: string;
  token?: string;
}): Promise<{ credential: StoredCredential; enrolled: boolean; note?: string }> {
  const stored = await readCredential(opts.stateDir);
  if (stored) {
    const cred = opts.consoleUrl && opts.consoleUrl !== stored.console ? { ...stored, console: opts.consoleUrl } : stored;
    if (opts.token) {
      try {
        const fresh = await enroll({ consoleUrl: cred.console, token: opts.token });
        await writeCredential(opts.stateDir, fresh);
        return { credential: fresh, enrolled: true, note: 'the enrollment token replaced the stored host credential' };
      } catch (err) {
        if (!(err instanceof EnrollError)) throw err;
        if (cred !== stored) await writeCredential(opts.stateDir, cred);
        return { credential: cred, enrolled: false, note: `enrollment token not used (${err.message}); keeping the stored host credential` };
      }
    }
    if (cred !== stored) await writeCredential(opts.stateDir, cred);
    return { credential: cred, enrolled: false };
  }
  if (!opts.consoleUrl) {
    throw new EnrollError('NO_CONSOLE', `--console: ${opts.stateDir} holds no credential yet; give --console URL and --token TOKEN to enroll`, 'console');
  }
  if (!opts.token) {
    throw new EnrollError('NO_TOKEN', `--token: ${opts.stateDir} holds no credential yet; give the enrollment token an admin created for this host`);
  }
  const credential = await enroll({ consoleUrl: opts.consoleUrl, token: opts.token });
  await writeCredential(opts.stateDir, credential);
  return { credential, enrolled: true };
}
