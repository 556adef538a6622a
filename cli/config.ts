// Where the CLI finds the console and its API token: SOFTUDC_URL and
// SOFTUDC_TOKEN when set (CI), else the credentials file `softudc login`
// wrote: $XDG_CONFIG_HOME/softudc/credentials.json (~/.config/… without it),
// mode 0600 in a 0700 directory. The token is a secret: it is never printed
// or logged, only sent as the Authorization header.
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './errors.ts';

export interface Connection {
  /** The console's base URL, e.g. http://127.0.0.1:3000. */
  url: string;
  token: string;
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'softudc', 'credentials.json');
}

/** A base URL without a trailing slash; refuses anything but http(s). */
export function normalizeUrl(text: string, source: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new CliError(EXIT.usage, `${source}: not a URL (got "${text}")`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(EXIT.usage, `${source}: expected an http:// or https:// URL`);
  return u.href.replace(/\/+$/, '');
}

export async function saveCredentials(conn: Connection, path = credentialsPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ url: conn.url, token: conn.token }, null, 2)}\n`, { mode: 0o600 });
  // The mode given at creation is masked by the umask; make sure of it before the file takes its name.
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** The connection to use, or an `auth` error saying how to get one. */
export async function loadConnection(env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  if (env.SOFTUDC_TOKEN) {
    if (!env.SOFTUDC_URL) throw new CliError(EXIT.usage, 'SOFTUDC_TOKEN is set but SOFTUDC_URL is not: set both (the console URL, e.g. http://127.0.0.1:3000)');
    return { url: normalizeUrl(env.SOFTUDC_URL, 'SOFTUDC_URL'), token: env.SOFTUDC_TOKEN };
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
  return { url: normalizeUrl(env.SOFTUDC_URL || saved.url, 'url'), token: saved.token };
}
