// The API over HTTP: the Next.js route handler's GET and POST called with
// real Request objects, against the process database (a fresh Postgres
// database with DATABASE_URL, else in-memory PGlite). Requests carry the
// connection stamp scripts/serve.mjs writes (server/trpc/peerStamp.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { createTestDb, type TestDb } from './db.ts';
import { loginLimiter } from '../server/auth/limiter.ts';
import { PEER_HEADER, PEER_KEY } from '../server/trpc/peerStamp.ts';

const PW = 'route test password';
const BASE = 'http://127.0.0.1:3000/api/trpc';
let t: TestDb | null = null;
let route: typeof import('../app/api/trpc/[trpc]/route.ts');
let closeDb: () => Promise<void>;
let latestLoginAddress: () => Promise<unknown>;
/** The key scripts/serve.mjs would hold in this process, and its stamp for a plain TCP connection from 127.0.0.1. */
const KEY = 'route-test-key';
const stamp = (address = '127.0.0.1', transport = 'tcp') => ({ [PEER_HEADER]: `${KEY} ${address} ${transport}` });

beforeAll(async () => {
  // The route opens the process database from the environment: point it at
  // a database of this test file before anything opens it.
  if (process.env.DATABASE_URL) {
    t = await createTestDb();
    process.env.DATABASE_URL = t.url!;
  } else {
    process.env.SOFTUDC_DATA_DIR = 'memory://';
  }
  (globalThis as { [PEER_KEY]?: string })[PEER_KEY] = KEY;
  const dbModule = await import('../server/db/index.ts');
  closeDb = dbModule.closeDb;
  latestLoginAddress = async () => {
    const row = await (await dbModule.getDb()).auditLog.findFirstOrThrow({ where: { action: 'auth.login' }, orderBy: { id: 'desc' }, select: { after: true } });
    return (row.after as { clientIp?: unknown }).clientIp;
  };
  const { ensureAdmin } = await import('../server/serve/bootstrap.ts');
  await ensureAdmin(await dbModule.getDb(), { password: PW, log: () => {} });
  route = await import('../app/api/trpc/[trpc]/route.ts');
});
afterAll(async () => {
  await closeDb?.();
  await t?.drop();
});

function post(path: string, input: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return route.POST(
    new Request(`${BASE}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...stamp(), ...headers },
      body: JSON.stringify(superjson.serialize(input)),
    }),
  );
}

function get(path: string, input: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const q = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
  return route.GET(new Request(`${BASE}/${path}${q}`, { headers: { ...stamp(), ...headers } }));
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies of many shapes, read field by field in the assertions
async function data<T = any>(res: Response): Promise<T> {
  const body = (await res.json()) as { result?: { data: { json: unknown; meta?: never } }; error?: unknown };
  if (!body.result) throw new Error(`expected a result, got ${JSON.stringify(body)}`);
  return superjson.deserialize(body.result.data as never) as T;
}

async function error(res: Response): Promise<{ code: string; field: string | null; message: string }> {
  const body = (await res.json()) as { error: { json: { message: string; data: { code: string; field: string | null } } } };
  return { code: body.error.json.data.code, field: body.error.json.data.field, message: body.error.json.message };
}

describe('tRPC over HTTP', () => {
  it('signs in with a cookie, then lists farms with it', async () => {
    const res = await post('auth.login', { username: 'admin', password: PW });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^softudc_session=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    expect((await data(res)).user).toMatchObject({ username: 'admin', role: 'admin' });
    const cookie = setCookie.split(';')[0]!;

    const me = await get('auth.me', undefined, { cookie });
    expect(me.status).toBe(200);
    expect(await data(me)).toMatchObject({ username: 'admin', tenantName: 'default' });

    const farms = await get('farm.list', { limit: 10 }, { cookie });
    expect(farms.status).toBe(200);
    expect(await data(farms)).toMatchObject({ items: [], nextCursor: null });
    // The route serves the lean read path too (server/serve/hotReads.ts): an ETag, and 304 when it still holds.
    const etag = farms.headers.get('etag');
    expect(etag).toBeTruthy();
    expect(farms.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await get('farm.list', { limit: 10 }, { cookie, 'if-none-match': etag! })).status).toBe(304);

    const out = await post('auth.logout', undefined, { cookie });
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    const after = await get('auth.me', undefined, { cookie });
    expect(after.status).toBe(401);
  });

  it('answers without credentials 401, a wrong password 401 without a cookie', async () => {
    const anon = await get('farm.list', { limit: 10 });
    expect(anon.status).toBe(401);
    expect((await error(anon)).code).toBe('UNAUTHORIZED');
    const wrong = await post('auth.login', { username: 'admin', password: 'not it at all' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect((await error(wrong)).message).toBe('username or password is wrong');
    loginLimiter.reset();
  });

  it('accepts a Bearer API token and names the field of a bad input', async () => {
    // A client's X-Forwarded-Proto is not believed; a TLS connection is.
    const plain = await post('auth.login', { username: 'admin', password: PW }, { 'x-forwarded-proto': 'https' });
    expect(plain.headers.get('set-cookie')).not.toMatch(/; Secure/);
    const login = await post('auth.login', { username: 'admin', password: PW }, stamp('127.0.0.1', 'tls'));
    expect(login.headers.get('set-cookie')).toMatch(/; Secure$/);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const made = await data(await post('apiToken.create', { name: 'curl', role: 'operator' }, { cookie }));
    const auth = { authorization: `Bearer ${made.token}` };
    const me = await data(await get('auth.me', undefined, auth));
    expect(me).toMatchObject({ kind: 'token', role: 'operator' });

    const bad = await post('host.create', { name: 'h1', address: '224.0.0.1' }, { cookie });
    expect(bad.status).toBe(400);
    expect(await error(bad)).toMatchObject({ code: 'BAD_REQUEST', field: 'address' });
    const denied = await post('host.create', { name: 'h1', address: '127.0.0.2' }, auth);
    expect(denied.status).toBe(403);

    const created = await data(await post('host.create', { name: 'h1', address: '127.0.0.2' }, { cookie }));
    const enrolled = await data(await post('host.enroll', { token: created.enrollmentToken, agentVersion: 'test' }));
    const asHost = await get('auth.me', undefined, { authorization: `Bearer ${enrolled.credential}` });
    expect(asHost.status).toBe(401);
  });

  it('takes the client address from the stamp, never from X-Forwarded-For or a stamp it did not write', async () => {
    const forged = { 'x-forwarded-for': '198.51.100.7' };
    expect((await post('auth.login', { username: 'admin', password: PW }, { ...forged, ...stamp('127.0.0.9') })).status).toBe(200);
    expect(await latestLoginAddress()).toBe('127.0.0.9');
    const fake = { [PEER_HEADER]: 'not-the-key 203.0.113.5 tcp', ...forged };
    expect((await post('auth.login', { username: 'admin', password: PW }, fake)).status).toBe(200);
    expect(await latestLoginAddress()).toBeNull();
  });
});
