// The lean path of farm.get and farm.list (server/serve/hotReads.ts) over
// real HTTP: the same answer as tRPC's, an ETag that changes with every edit
// (and with a host rename, which changes no revision), and every check of
// the procedures kept: another tenant's farm, a revoked token, a signed-out
// session, no credential at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { hashPassword } from '../server/auth/password.ts';
import { loginLimiter } from '../server/auth/limiter.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { createTestDb, type TestDb } from './db.ts';

const PW = 'correct horse battery staple';
let t: TestDb;
let server: ApiServer;
let alice = '';
let bob = '';
let farmId = '';
let revision = 0;

const enc = (input: unknown) => encodeURIComponent(JSON.stringify(superjson.serialize(input)));
const get = (path: string, input: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/${path}?input=${enc(input)}`, { headers });

async function post(path: string, input: unknown, cookie: string): Promise<{ status: number; data: unknown; cookie: string | undefined }> {
  const r = await fetch(`${server.url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify(superjson.serialize(input)),
  });
  const body = (await r.json()) as { result?: { data: never } };
  return {
    status: r.status,
    data: body.result ? superjson.deserialize(body.result.data) : body,
    cookie: r.headers.getSetCookie()[0]?.split(';')[0],
  };
}

async function signIn(username: string): Promise<string> {
  const r = await post('auth.login', { username, password: PW }, '');
  expect(r.status).toBe(200);
  return r.cookie!;
}

beforeAll(async () => {
  t = await createTestDb();
  server = await startApiServer({ db: { prisma: t.prisma, raw: t.raw } });
  for (const [tenant, username, role] of [['a', 'alice', 'admin'], ['b', 'bob', 'operator']] as const) {
    const row = await t.prisma.tenant.create({ data: { name: tenant }, select: { id: true } });
    await t.prisma.user.create({ data: { tenantId: row.id, username, role, passwordHash: await hashPassword(PW) }, select: { id: true } });
  }
  alice = await signIn('alice');
  bob = await signIn('bob');
  const farm = (await post('farm.create', { name: 'shop' }, alice)).data as { id: string; revision: number };
  farmId = farm.id;
  const host = await t.prisma.host.create({ data: { name: 'hot-h1', address: '127.0.0.2' }, select: { id: true } });
  const vnet = (await post('vnet.create', { farmId, expectedRevision: farm.revision, name: 'front', cidr: '10.9.0.0/24' }, alice)).data as {
    farmRevision: number; vnet: { id: string };
  };
  const vm = (await post('vm.create', { farmId, expectedRevision: vnet.farmRevision, name: 'web', hostId: host.id, vifs: [{ vnetId: vnet.vnet.id }] }, alice))
    .data as { farmRevision: number };
  revision = vm.farmRevision;
}, 60_000);
afterAll(async () => {
  loginLimiter.reset();
  await server?.close();
  await t?.drop();
});

describe('farm.get and farm.list on the lean path', () => {
  it('answers exactly what tRPC answers, with an ETag; If-None-Match gives 304 without a body', async () => {
    const lean = await get('farm.get', { id: farmId }, { cookie: alice });
    expect(lean.status).toBe(200);
    const etag = lean.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(lean.headers.get('cache-control')).toBe('private, no-cache');
    expect(lean.headers.get('x-content-type-options')).toBe('nosniff');
    const leanBody = await lean.json();
    // A batch of one always goes through tRPC.
    const viaTrpc = await fetch(`${server.url}/farm.get?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: superjson.serialize({ id: farmId }) }))}`, {
      headers: { cookie: alice },
    });
    expect(viaTrpc.headers.get('etag')).toBeNull();
    expect(((await viaTrpc.json()) as unknown[])[0]).toEqual(leanBody);
    const detail = superjson.deserialize((leanBody as { result: { data: never } }).result.data) as { revision: number; vms: { hostName: string }[] };
    expect(detail.revision).toBe(revision);
    expect(detail.vms[0]!.hostName).toBe('hot-h1');

    const again = await get('farm.get', { id: farmId }, { cookie: alice, 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');

    const list = await get('farm.list', {}, { cookie: alice });
    expect(list.status).toBe(200);
    expect(list.headers.get('etag')).toBeTruthy();
    const listTrpc = await fetch(`${server.url}/farm.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: superjson.serialize({}) }))}`, {
      headers: { cookie: alice },
    });
    expect(((await listTrpc.json()) as unknown[])[0]).toEqual(await list.json());
    const listAgain = await get('farm.list', {}, { cookie: alice, 'if-none-match': list.headers.get('etag')! });
    expect(listAgain.status).toBe(304);
  });

  it('a cached answer is replaced by an edit and by a host rename: the ETag changes, the old one no longer matches', async () => {
    const before = await get('farm.get', { id: farmId }, { cookie: alice });
    const etag = before.headers.get('etag')!;
    const listEtag = (await get('farm.list', {}, { cookie: alice })).headers.get('etag')!;
    const edit = await post('farm.update', { id: farmId, expectedRevision: revision, description: 'edited' }, alice);
    expect(edit.status).toBe(200);
    revision = (edit.data as { farmRevision: number }).farmRevision;

    const after = await get('farm.get', { id: farmId }, { cookie: alice, 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    const detail = superjson.deserialize(((await after.json()) as { result: { data: never } }).result.data) as { revision: number; description: string };
    expect(detail).toMatchObject({ revision, description: 'edited' });
    const list = await get('farm.list', {}, { cookie: alice, 'if-none-match': listEtag });
    expect(list.status).toBe(200);
    expect(list.headers.get('etag')).not.toBe(listEtag);

    // A rename of the host the VM runs on changes no farm revision, and still shows.
    const renamedFrom = after.headers.get('etag')!;
    const host = await t.prisma.host.findFirstOrThrow({ where: { name: 'hot-h1' }, select: { id: true } });
    expect((await post('host.update', { id: host.id, name: 'hot-h2' }, alice)).status).toBe(200);
    const renamed = await get('farm.get', { id: farmId }, { cookie: alice, 'if-none-match': renamedFrom });
    expect(renamed.status).toBe(200);
    const vms = (superjson.deserialize(((await renamed.json()) as { result: { data: never } }).result.data) as { vms: { hostName: string }[] }).vms;
    expect(vms[0]!.hostName).toBe('hot-h2');
  });

  it("another tenant's farm is NOT_FOUND, even with the owner's ETag, and is not in its list", async () => {
    const etag = (await get('farm.get', { id: farmId }, { cookie: alice })).headers.get('etag')!;
    const r = await get('farm.get', { id: farmId }, { cookie: bob, 'if-none-match': etag });
    expect(r.status).toBe(404);
    expect(r.headers.get('etag')).toBeNull();
    expect(((await r.json()) as { error: { json: { data: { code: string } } } }).error.json.data.code).toBe('NOT_FOUND');
    const list = await get('farm.list', {}, { cookie: bob });
    expect(list.status).toBe(200);
    const page = superjson.deserialize(((await list.json()) as { result: { data: never } }).result.data) as { items: unknown[] };
    expect(page.items).toEqual([]);
  });

  it('a revoked API token, a signed-out session and no credential are refused', async () => {
    const created = (await post('apiToken.create', { name: 'ci', role: 'viewer' }, alice)).data as { token: string; apiToken: { id: string } };
    const bearer = { authorization: `Bearer ${created.token}` };
    const ok = await get('farm.get', { id: farmId }, bearer);
    expect(ok.status).toBe(200);
    const etag = ok.headers.get('etag')!;
    expect((await post('apiToken.revoke', { id: created.apiToken.id }, alice)).status).toBe(200);
    for (const path of ['farm.get', 'farm.list']) {
      const r = await get(path, path === 'farm.get' ? { id: farmId } : {}, { ...bearer, 'if-none-match': etag });
      expect(r.status).toBe(401);
      expect(r.headers.get('etag')).toBeNull();
    }
    // A bad token is refused even with a valid cookie riding along.
    expect((await get('farm.list', {}, { ...bearer, cookie: alice })).status).toBe(401);
    expect((await get('farm.list', {}, {})).status).toBe(401);

    const session = await signIn('alice');
    expect((await get('farm.list', {}, { cookie: session })).status).toBe(200);
    expect((await post('auth.logout', {}, session)).status).toBe(200);
    expect((await get('farm.list', {}, { cookie: session })).status).toBe(401);
  });

  it('an input the lean path does not take is answered by tRPC as before', async () => {
    const bad = await get('farm.get', { id: 'not-a-uuid' }, { cookie: alice });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { json: { data: { field: string } } } }).error.json.data.field).toBe('id');
    const cursor = await get('farm.list', { cursor: farmId }, { cookie: alice });
    expect(cursor.status).toBe(200);
    expect(cursor.headers.get('etag')).toBeNull();
  });
});
