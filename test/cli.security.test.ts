// The `softudc` CLI's handling of its secrets, without a console: the saved
// token goes only to the URL it was made for, plain http:// only to this
// machine unless --insecure, a redirect never carries the password or token
// elsewhere (real child processes against loopback HTTP servers), and the
// credentials file and its directory are the user's own, mode 0600 and 0700.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTransport, loadConnection, saveCredentials } from '../cli/config.ts';
import { CliError, EXIT } from '../cli/errors.ts';

const BIN = new URL('../bin/softudc.js', import.meta.url).pathname;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'softudc-cli-sec-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<CliError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

/** An environment of just these variables. */
const envOf = (vars: Record<string, string>) => vars as unknown as NodeJS.ProcessEnv;

async function savedAt(url: string): Promise<NodeJS.ProcessEnv> {
  const config = await mkdtemp(join(dir, 'config-'));
  const env = envOf({ XDG_CONFIG_HOME: config });
  await saveCredentials({ url, token: 'sudc_saved' }, join(config, 'softudc', 'credentials.json'));
  return env;
}

describe('which console gets which token', () => {
  it('sends the saved token only to the saved URL; another SOFTUDC_URL or --url is refused (exit 5)', async () => {
    const env = await savedAt('https://console.example:3000');
    expect(await loadConnection({}, env)).toEqual({ url: 'https://console.example:3000', token: 'sudc_saved' });
    expect(await loadConnection({}, { ...env, SOFTUDC_URL: 'https://console.example:3000/' })).toEqual({ url: 'https://console.example:3000', token: 'sudc_saved' });
    for (const other of ['http://console.example:3000', 'https://evil.example:3000', 'https://console.example:3001']) {
      const e = await refusal(loadConnection({}, { ...env, SOFTUDC_URL: other }));
      expect(e.exitCode).toBe(EXIT.auth);
      expect(e.message).toBe(`not signed in to ${other}: run softudc login --url ${other}`);
      expect((await refusal(loadConnection({ url: other }, env))).exitCode).toBe(EXIT.auth);
    }
    // With a token of its own, another console is fine.
    expect(await loadConnection({}, { ...env, SOFTUDC_URL: 'https://other.example', SOFTUDC_TOKEN: 'sudc_ci' })).toEqual({ url: 'https://other.example', token: 'sudc_ci' });
  });

  it('refuses plain http:// to anything but loopback unless --insecure or SOFTUDC_INSECURE=1', async () => {
    for (const ok of ['http://127.0.0.1:3000', 'http://127.9.0.1', 'http://localhost:3000', 'http://[::1]:3000', 'https://console.example']) {
      expect(() => checkTransport(ok, false)).not.toThrow();
    }
    for (const bad of ['http://198.18.0.1:3000', 'http://console.example', 'http://[2001:db8::1]']) {
      expect(() => checkTransport(bad, false)).toThrow(/refusing to send credentials over plain http:\/\/ .*--insecure/);
      expect(() => checkTransport(bad, true)).not.toThrow();
    }
    const env = await savedAt('http://198.18.0.1:3000');
    expect((await refusal(loadConnection({}, env))).exitCode).toBe(EXIT.usage);
    expect((await loadConnection({ insecure: true }, env)).url).toBe('http://198.18.0.1:3000');
    expect((await loadConnection({}, { ...env, SOFTUDC_INSECURE: '1' })).url).toBe('http://198.18.0.1:3000');
    const ci = envOf({ SOFTUDC_URL: 'http://console.example', SOFTUDC_TOKEN: 'sudc_ci' });
    expect((await refusal(loadConnection({}, ci))).exitCode).toBe(EXIT.usage);
  });
});

describe('the credentials file', () => {
  it('closes an existing config directory to 0700 and writes the file 0600, replacing the old one', async () => {
    const config = join(dir, 'open');
    await mkdir(join(config, 'softudc'), { recursive: true });
    await chmod(join(config, 'softudc'), 0o755);
    const path = join(config, 'softudc', 'credentials.json');
    await writeFile(path, '{}', { mode: 0o644 });
    await saveCredentials({ url: 'https://a.example', token: 'sudc_one' }, path);
    expect((await stat(join(config, 'softudc'))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ url: 'https://a.example', token: 'sudc_one' });
  });

  it("refuses a config directory that is another user's", async (ctx) => {
    if (process.getuid?.() !== 0) {
      if (process.env.SOFTUDC_REQUIRE_ALL === '1') throw new Error('needs root (to give a directory to another user)');
      console.log('skipped: needs root to give a directory to another user');
      ctx.skip();
    }
    const config = join(dir, 'theirs');
    await mkdir(join(config, 'softudc'), { recursive: true, mode: 0o700 });
    await chown(join(config, 'softudc'), 65534, 65534);
    const e = await refusal(saveCredentials({ url: 'https://a.example', token: 'sudc_one' }, join(config, 'softudc', 'credentials.json')));
    expect(e.message).toMatch(/belongs to another user \(uid 65534/);
  });
});

interface Run {
  code: number | null;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: envOf({ PATH: process.env.PATH ?? '', HOME: dir, ...env }), stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('redirects (child processes, loopback servers)', () => {
  let target: Server;
  let redirector: Server;
  let redirectUrl: string;
  const received: string[] = [];

  beforeAll(async () => {
    target = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(`${req.url} ${req.headers.authorization ?? ''} ${body}`);
        res.writeHead(404).end();
      });
    });
    const targetUrl = await listen(target);
    redirector = createServer((req, res) => res.writeHead(307, { location: `${targetUrl}${req.url}` }).end());
    redirectUrl = await listen(redirector);
  });
  afterAll(async () => {
    target?.close();
    redirector?.close();
  });

  it('login never follows a 307 with the password', async () => {
    const r = await cli(['login', '--url', redirectUrl, '--user', 'u', '--password-stdin'], { XDG_CONFIG_HOME: join(dir, 'r1') }, 'the-password\n');
    expect(r.stderr).toContain('answered the sign-in with a redirect: refused');
    expect(r.code).toBe(EXIT.error);
    expect(received).toEqual([]);
  }, 120_000);

  it('a command never follows a 307 with the token', async () => {
    const r = await cli(['hosts'], { SOFTUDC_URL: redirectUrl, SOFTUDC_TOKEN: 'sudc_secret', XDG_CONFIG_HOME: join(dir, 'r2') });
    expect(r.code).toBe(EXIT.error);
    expect(r.stderr).not.toContain('sudc_secret');
    expect(received).toEqual([]);
  }, 120_000);

  it('login refuses plain http:// off this machine before sending anything', async () => {
    const r = await cli(['login', '--url', 'http://198.18.0.1:9', '--user', 'u', '--password-stdin'], { XDG_CONFIG_HOME: join(dir, 'r3') }, 'pw\n');
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain('refusing to send credentials over plain http:// to 198.18.0.1:9');
  }, 120_000);
});
