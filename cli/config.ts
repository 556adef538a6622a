// Where the CLI finds the console and its API token: SOFTUDC_URL and
// SOFTUDC_TOKEN when set (CI), else the credentials file `softudc login`
// wrote: $XDG_CONFIG_HOME/softudc/credentials.json (~/.config/… without it),
// mode 0600 in a 0700 directory of the user's own. The token is a secret: it
// is never printed or logged, only sent as the Authorization header, and
// only to the console it was made for (never over plain http:// off this
// machine unless --insecure).
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './errors.ts';

export interface Connection {
  /** The console's base URL, e.g. http://127.0.0.1:3000. */
  url: string;
  token: string;
}

/** What the command line says about the connection (`--url`, `--insecure`). */
export interface ConnectionFlags {
  url?: string;
  insecure?: boolean;
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'softudc', 'credentials.json');
}

/** A base URL without a trailing slash; refuses anything but http(s) and a user or password in the URL. */
export function normalizeUrl(text: string, source: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new CliError(EXIT.usage, `${source}: not a URL (got "${text}")`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(EXIT.usage, `${source}: expected an http:// or https:// URL`);
  if (u.username || u.password) throw new CliError(EXIT.usage, `${source}: must not carry a user name or password`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** Plain http:// is allowed when explicitly asked for (`--insecure`, SOFTUDC_INSECURE=1). */
export function insecureAllowed(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): boolean {
  return flags.insecure === true || env.SOFTUDC_INSECURE === '1';
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Refuses to send a password or token over plain http:// to anything but this machine, unless allowed. */
export function checkTransport(url: string, insecure: boolean): void {
  const u = new URL(url);
  if (u.protocol === 'http:' && !isLoopback(u.hostname) && !insecure) {
    throw new CliError(
      EXIT.usage,
      `refusing to send credentials over plain http:// to ${u.host}: use https://, or pass --insecure (SOFTUDC_INSECURE=1) to allow it`,
    );
  }
}

/** The config directory: created 0700, or made 0700 when it exists; it must be the caller's own. */
async function ensureConfigDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const st = await stat(path);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new CliError(EXIT.error, `${path} belongs to another user (uid ${st.uid}, you are ${uid}): refusing to store a token there`);
  }
  if (!st.isDirectory()) throw new CliError(EXIT.error, `${path} is not a directory`);
  if ((st.mode & 0o777) !== 0o700) await chmod(path, 0o700);
}

export async function saveCredentials(conn: Connection, path = credentialsPath()): Promise<void> {
  await ensureConfigDir(dirname(path));
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  // 'wx': a new file only, never one that already exists (or a link planted in its place).
  await writeFile(tmp, `${JSON.stringify({ url: conn.url, token: conn.token }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  // The mode given at creation is masked by the umask; make sure of it before the file takes its name.
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/**
 * The connection to use, or an error saying how to get one. The saved token
 * is only ever sent to the URL it was created for: another URL (SOFTUDC_URL,
 * --url) without SOFTUDC_TOKEN is refused, never given the saved token.
 */
export async function loadConnection(flags: ConnectionFlags = {}, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const insecure = insecureAllowed(flags, env);
  const wanted = flags.url ?? env.SOFTUDC_URL;
  if (env.SOFTUDC_TOKEN) {
    if (!wanted) throw new CliError(EXIT.usage, 'SOFTUDC_TOKEN is set but SOFTUDC_URL is not: set both (the console URL, e.g. http://127.0.0.1:3000)');
    const url = normalizeUrl(wanted, flags.url ? '--url' : 'SOFTUDC_URL');
    checkTransport(url, insecure);
    return { url, token: env.SOFTUDC_TOKEN };
  }
  const path = credentialsPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CliError(EXIT.auth, 'not signed in: run `softudc login`, or set SOFTUDC_URL and SOFTUDC_TOKEN');
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) process.stderr.write(`warning: ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it\n`);
  let saved: { url?: unknown; token?: unknown };
  try {
    saved = JSON.parse(text) as typeof saved;
  } catch {
    throw new CliError(EXIT.auth, `${path} is not valid JSON: run \`softudc login\` again`);
  }
  if (typeof saved.url !== 'string' || typeof saved.token !== 'string') {
    throw new CliError(EXIT.auth, `${path} lacks url or token: run \`softudc login\` again`);
  }
  const url = normalizeUrl(saved.url, path);
  if (wanted) {
    const other = normalizeUrl(wanted, flags.url ? '--url' : 'SOFTUDC_URL');
    if (other !== url) throw new CliError(EXIT.auth, `not signed in to ${other}: run softudc login --url ${other}`);
  }
  checkTransport(url, insecure);
  return { url, token: saved.token };
}
