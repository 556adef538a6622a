// Whole-request checks over real HTTP (server/serve/http.ts, the same entry as the
// Next.js route): forged cross-site mutations, batches past the cap, and the
// headers every API answer carries. Every procedure's type is checked too:
// whatever changes something is a mutation (POST, so these checks apply).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../server/auth/password.ts';
import { loginLimiter } from '../server/auth/limiter.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { MAX_BATCH_CALLS } from '../server/limits.ts';
import { createTestDb, type TestDb } from './db.ts';
import { procedures } from './procedures.ts';

const PW = 'correct horse battery staple';
let t: TestDb;
let server: ApiServer;
let cookie = '';

beforeAll(async () => {
  t = await createTestDb();
  server = await startApiServer({ db: { prisma: t.prisma, raw: t.raw } });
  const tenant = await t.prisma.tenant.create({ data: { name: 'default' }, select: { id: true } });
  await t.prisma.user.create({ data: { tenantId: tenant.id, username: 'alice', role: 'admin', passwordHash: await hashPassword(PW) }, select: { id: true } });
  const r = await post('auth.login', { json: { username: 'alice', password: PW } });
  expect(r.status).toBe(200);
  cookie = r.headers.get('set-cookie')!.split(';')[0]!;
}, 60_000);
afterAll(async () => {
  loginLimiter.reset();
  await server?.close();
  await t?.drop();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof FormData ? body : JSON.stringify(body),
  });
}
const signedIn = async () => (await fetch(`${server.url}/auth.me`, { headers: { cookie } })).status;
const errorOf = async (r: Response) => ((await r.json()) as { error: { json: { message: string; data: { code: string; field: string | null } } } }).error.json;

describe('cross-site forgery', () => {
  it('a form cannot post to a mutation: only application/json is taken', async () => {
    const form = new FormData();
    form.set('x', '1');
    const r = await fetch(`${server.url}/auth.logout`, { method: 'POST', headers: { cookie }, body: form });
    expect(r.status).toBe(415);
    expect((await errorOf(r)).message).toMatch(/^content-type: mutations are sent as application\/json/);
    const plain = await post('auth.logout', '{}', { cookie, 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(await signedIn()).toBe(200);
  });

  it('a page of another origin or site cannot post with the cookie', async () => {
    const other = await post('auth.logout', {}, { cookie, origin: 'http://127.0.0.1:1' });
    expect(other.status).toBe(403);
    expect((await errorOf(other)).message).toMatch(/^origin: http:\/\/127\.0\.0\.1:1 is not this console/);
    expect((await post('auth.logout', {}, { cookie, origin: 'null' })).status).toBe(403);
    expect((await post('auth.logout', {}, { cookie, 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await post('auth.logout', {}, { cookie, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(await signedIn()).toBe(200);
  });

  it('the console\'s own pages, API clients and bearer tokens still post', async () => {
    const own = new URL(server.url).origin;
    const me = await post('apiToken.create', { json: { name: 'auto', role: 'viewer' } }, { cookie, origin: own, 'sec-fetch-site': 'same-origin' });
    expect(me.status).toBe(200);
    const token = ((await me.json()) as { result: { data: { json: { token: string } } } }).result.data.json.token;
    // A bearer token is not sent by a browser on its own: its Origin does not matter.
    const bearer = await post('apiToken.create', { json: { name: 'auto2', role: 'viewer' } }, { authorization: `Bearer ${token}`, origin: 'http://elsewhere.example' });
    expect(bearer.status).toBe(200);
    const logout = await post('auth.logout', {}, { cookie, origin: own });
    expect(logout.status).toBe(200);
    expect(await signedIn()).toBe(401);
    const again = await post('auth.login', { json: { username: 'alice', password: PW } });
    cookie = again.headers.get('set-cookie')!.split(';')[0]!;
  });

  it('every procedure with an effect is a mutation', () => {
    // Subscriptions and queries only read (router.inspect and firewall.inspect ask an agent for its view);
    // starting a ping or a trace sends traffic, so those are mutations.
    const types = new Map(procedures.map((p) => [p.path, p.type]));
    expect(types.get('router.ping')).toBe('mutation');
    expect(types.get('router.traceroute')).toBe('mutation');
    expect(types.get('auth.logout')).toBe('mutation');
    const subscriptions = procedures.filter((p) => p.type === 'subscription').map((p) => p.path).sort();
    expect(subscriptions).toEqual(['agent.commands', 'agent.desired', 'farm.changes', 'farm.deployProgress', 'host.reports', 'router.probe']);
  });
});

describe('batches', () => {
  it(`refuses more than ${MAX_BATCH_CALLS} calls in one request with BAD_REQUEST on batch, before any runs`, async () => {
    const n = 40;
    const paths = Array(n).fill('auth.login').join(',');
    const inputs = Object.fromEntries(Array.from({ length: n }, (_, i) => [i, { json: { username: 'alice', password: `wrong ${i}` } }]));
    const r = await post(`${paths}?batch=1`, inputs);
    expect(r.status).toBe(400);
    const answers = (await r.json()) as { error: { json: { message: string; data: { code: string; field: string } } } }[];
    expect(answers[0]!.error.json.data).toMatchObject({ code: 'BAD_REQUEST', field: 'batch' });
    expect(answers[0]!.error.json.message).toMatch(new RegExp(`^batch: at most ${MAX_BATCH_CALLS} calls per request`));
    // Nothing ran: no failed sign-in was counted.
    expect(loginLimiter.pairs.retryAfterMs('- alice')).toBe(0);
    const q = await fetch(`${server.url}/${Array(MAX_BATCH_CALLS).fill('auth.me').join(',')}?batch=1`, { headers: { cookie } });
    expect(q.status).toBe(200);
  });
});

describe('answers', () => {
  it('carry nosniff, no referrer and a policy that forbids framing', async () => {
    const r = await fetch(`${server.url}/auth.me`);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});
