import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CREDENTIAL_FILE, readCredential, readPersistedState, STATE_FILE, StoreError, writeCredential, writeFileAtomic, writePersistedState,
} from './store.ts';
import { normaliseConsoleUrl } from './client.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'softudc-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cred = { console: 'http://127.0.0.1:3000', hostId: 'h-1', hostName: 'local-1', credential: 'sudh_abcdefghijklmnop' };

describe('credential store', () => {
  it('round-trips and leaves the file readable by its owner only', async () => {
    expect(await readCredential(dir)).toBeNull();
    await writeCredential(join(dir, 'sub'), cred);
    expect(await readCredential(join(dir, 'sub'))).toEqual(cred);
    expect((await stat(join(dir, 'sub', CREDENTIAL_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'sub'))).mode & 0o777).toBe(0o700);
  });

  it('reports a damaged file by field, without quoting the secret', async () => {
    await writeFile(join(dir, CREDENTIAL_FILE), JSON.stringify({ ...cred, credential: 'sude_notacredential' }));
    const err = await readCredential(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/credential: must start with sudh_/);
    expect((err as Error).message).not.toContain('notacredential');
    await writeFile(join(dir, CREDENTIAL_FILE), '{not json');
    await expect(readCredential(dir)).rejects.toThrow(/not valid JSON/);
  });
});

describe('persisted state', () => {
  const state = {
    host: 'local-1', generation: 4,
    underlay: { address: '127.0.0.2', port: 1798, multicast: null, peers: [] },
    vnets: [{ id: 7, security: 'none' }],
    vifs: [{ id: 'f/web-1/eth0', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', version: 1, guest: { kind: 'emulated' } }],
    routers: [{ id: 'carried-through' }],
  };

  it('keeps the document as applied, unknown sections included', async () => {
    expect(await readPersistedState(dir)).toEqual({ kind: 'none' });
    await writePersistedState(dir, state);
    const r = await readPersistedState(dir);
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') {
      expect(r.state.generation).toBe(4);
      expect(r.state.vifs[0]!.id).toBe('f/web-1/eth0');
      expect((r.state as Record<string, unknown>).routers).toEqual([{ id: 'carried-through' }]);
    }
    expect((await stat(join(dir, STATE_FILE))).mode & 0o777).toBe(0o600);
  });

  it('says why a damaged file is ignored', async () => {
    await writeFile(join(dir, STATE_FILE), JSON.stringify({ ...state, vifs: [{ ...state.vifs[0], mac: 'zz' }] }));
    const r = await readPersistedState(dir);
    expect(r).toMatchObject({ kind: 'invalid' });
    expect(r.kind === 'invalid' && r.reason).toMatch(/vifs\[0\]\.mac/);
    await writeFile(join(dir, STATE_FILE), '{"host": ');
    expect(await readPersistedState(dir)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/not valid JSON/) });
  });

  it('replaces atomically and leaves no temporary files', async () => {
    const path = join(dir, 'x.json');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(path, JSON.stringify({ i, pad: 'y'.repeat(10_000) }))));
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { i: number; pad: string };
    expect(parsed.pad).toHaveLength(10_000);
    expect(await readdir(dir)).toEqual(['x.json']);
  });
});

describe('normaliseConsoleUrl', () => {
  it('accepts a base URL or the API URL and strips trailing slashes', () => {
    expect(normaliseConsoleUrl('http://127.0.0.1:3000/')).toBe('http://127.0.0.1:3000');
    expect(normaliseConsoleUrl('https://c.example/softudc/api/trpc/')).toBe('https://c.example/softudc');
  });
  it('refuses other schemes and embedded passwords', () => {
    expect(() => normaliseConsoleUrl('ftp://x')).toThrow(/--console: must be an http/);
    expect(() => normaliseConsoleUrl('http://u:p@x')).toThrow(/user name or password/);
    expect(() => normaliseConsoleUrl('nope')).toThrow(/not a URL/);
  });
});
