// Enrollment against a small real tRPC server with the console's host.enroll
// contract: one-time tokens, the credential stored 0600, clear refusals.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ensureCredential, enroll, EnrollError } from './enroll.ts';
import { CREDENTIAL_FILE } from './store.ts';

const tokens = new Set(['sude_valid_one', 'sude_valid_two', 'sude_valid_three']);
const seen: { token: string; agentVersion?: string; capabilities?: string[] }[] = [];
let server: ReturnType<typeof createHTTPServer>;
let url: string;
let dir: string;

beforeAll(async () => {
  const t = initTRPC.create({ transformer: superjson });
  const router = t.router({
    host: t.router({
      enroll: t.procedure
        .input(z.object({ token: z.string(), agentVersion: z.string().optional(), capabilities: z.array(z.string()).optional() }))
        .mutation(({ input }) => {
          seen.push(input);
          if (!tokens.delete(input.token)) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'token: unknown, used or expired' });
          return { hostId: 'id-1', hostName: 'local-1', credential: `sudh_for_${input.token}` };
        }),
    }),
  });
  server = createHTTPServer({ router, basePath: '/api/trpc/' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'softudc-enroll-'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

describe('enrollment', () => {
  it('trades the token once and keeps the credential readable by its owner only', async () => {
    const stateDir = join(dir, 'a');
    const r = await ensureCredential({ stateDir, consoleUrl: url, token: 'sude_valid_one' });
    expect(r).toEqual({ enrolled: true, credential: { console: url, hostId: 'id-1', hostName: 'local-1', credential: 'sudh_for_sude_valid_one' } });
    expect(seen.at(-1)).toMatchObject({ token: 'sude_valid_one', agentVersion: expect.any(String), capabilities: expect.arrayContaining(['guest:emulated']) });
    expect((await stat(join(stateDir, CREDENTIAL_FILE))).mode & 0o777).toBe(0o600);

    // Afterwards no token is needed, and the same token would not work twice anyway.
    const again = await ensureCredential({ stateDir, consoleUrl: url });
    expect(again.enrolled).toBe(false);
    expect(again.credential.credential).toBe('sudh_for_sude_valid_one');
    await expect(enroll({ consoleUrl: url, token: 'sude_valid_one' })).rejects.toMatchObject({ code: 'REFUSED', field: 'token' });
  });

  it('follows a console that moved without enrolling again', async () => {
    const stateDir = join(dir, 'a');
    const moved = await ensureCredential({ stateDir, consoleUrl: 'http://127.0.0.1:1' });
    expect(moved.enrolled).toBe(false);
    expect(JSON.parse(await readFile(join(stateDir, CREDENTIAL_FILE), 'utf8'))).toMatchObject({ console: 'http://127.0.0.1:1' });
  });

  it('enrolls again when given a token while holding a credential, and keeps the stored one when the token is refused', async () => {
    const stateDir = join(dir, 'again');
    await ensureCredential({ stateDir, consoleUrl: url, token: 'sude_valid_three' });
    // A spent token (e.g. a restart with the same command line): the stored credential stays.
    const spent = await ensureCredential({ stateDir, consoleUrl: url, token: 'sude_valid_three' });
    expect(spent).toMatchObject({ enrolled: false, credential: { credential: 'sudh_for_sude_valid_three' }, note: expect.stringMatching(/keeping the stored host credential/) });
    expect(spent.note).not.toContain('sude_valid_three');
    // The console is away: the stored credential stays too, and forwarding can start.
    const away = await ensureCredential({ stateDir, consoleUrl: 'http://127.0.0.1:1', token: 'sude_valid_two' });
    expect(away).toMatchObject({ enrolled: false, credential: { credential: 'sudh_for_sude_valid_three', console: 'http://127.0.0.1:1' } });
    // A fresh token (the old credential was revoked): it replaces the stored credential.
    const fresh = await ensureCredential({ stateDir, consoleUrl: url, token: 'sude_valid_two' });
    expect(fresh).toMatchObject({ enrolled: true, credential: { credential: 'sudh_for_sude_valid_two', console: url } });
    expect(JSON.parse(await readFile(join(stateDir, CREDENTIAL_FILE), 'utf8'))).toMatchObject({ credential: 'sudh_for_sude_valid_two' });
    expect((await stat(join(stateDir, CREDENTIAL_FILE))).mode & 0o777).toBe(0o600);
  });

  it('names the flag to fix', async () => {
    const empty = join(dir, 'empty');
    await expect(ensureCredential({ stateDir: empty, consoleUrl: url })).rejects.toMatchObject({ code: 'NO_TOKEN', message: expect.stringMatching(/^--token/) });
    await expect(ensureCredential({ stateDir: empty, token: 'sude_x' })).rejects.toMatchObject({ code: 'NO_CONSOLE', field: 'console' });
    await expect(enroll({ consoleUrl: url, token: 'sudh_not_a_token' })).rejects.toMatchObject({ code: 'BAD_TOKEN' });
    const err = await enroll({ consoleUrl: 'http://127.0.0.1:1', token: 'sude_valid_one' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrollError);
    expect(err).toMatchObject({ code: 'UNREACHABLE', field: 'console' });
    expect((err as Error).message).not.toContain('sude_valid_one');
  });

  it('makes the agent exit with a clear message, never echoing the token', async () => {
    const bin = fileURLToPath(new URL('../../bin/softudc-agent.js', import.meta.url));
    const child = spawn(process.execPath, [bin, '--console', url, '--token', 'sude_wrong_secret', '--state-dir', join(dir, 'cli')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(out).toMatch(/"field":"token"/);
    expect(out).toMatch(/refused the enrollment token/);
    expect(out).not.toContain('sude_wrong_secret');
  }, 30_000);
});
