// Smaller holes a hostile tenant found: host health and apply errors (which
// name other tenants' objects) shown to every tenant, `__proto__` keys slipping
// through strict inputs, layout positions for nodes that do not exist or at
// absurd coordinates, and passwords that are only spaces or one character
// repeated. Real HTTP where the hole was in the request's path (superjson),
// callers through the root router elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { agentReport, buildFarm, setupControl, type BuiltFarm, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import { expectError } from './farm-fixtures.ts';

let f: ControlFixture;
let server: ApiServer;
let h1: EnrolledHost;
let farm: BuiltFarm;
let token: string;
const OTHER_TENANTS_VIF = 'tenant-b.zoo/keeper/eth0';

beforeAll(async () => {
  f = await setupControl();
  server = await startApiServer({ db: { prisma: f.db, raw: f.t.raw } });
  h1 = await f.host('h1', '127.0.0.2');
  farm = await buildFarm(f.caller(f.operator), { name: 'shop', vnets: [{ name: 'front', cidr: '10.1.0.0/24' }], vms: [{ name: 'web', hostId: h1.id, vnets: ['front'] }] });
  ({ token } = await f.caller(f.operator).apiToken.create({ name: 'http', role: 'operator' }));
}, 60_000);
afterAll(async () => {
  await server?.close();
  await f?.drop();
});

async function post(path: string, body: string, bearer = token): Promise<{ status: number; code?: string; field?: string | null; message?: string }> {
  const r = await fetch(`${server.url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body,
  });
  const j = (await r.json()) as { error?: { json: { message: string; data: { code: string; field: string | null } } } };
  return { status: r.status, code: j.error?.json.data.code, field: j.error?.json.data.field, message: j.error?.json.message };
}

describe('host health and apply errors', () => {
  let deploymentId = '';
  beforeAll(async () => {
    const deployed = await f.caller(f.operator).farm.deploy({ id: farm.id });
    deploymentId = deployed.deployment.id;
    const gen = deployed.deployment.targets[0]!.generation;
    await f.caller(h1.actor).agent.report({
      ...agentReport(gen - 1, { generation: gen, message: `vif ${OTHER_TENANTS_VIF}: tap device busy` }),
      health: { status: 'degraded', messages: [`vif ${OTHER_TENANTS_VIF}: no carrier`] },
    });
  });

  it('are shown in full to admins only; other roles get a summary that names no object', async () => {
    for (const actor of [f.viewer, f.operator, f.otherOperator]) {
      const r = (await f.caller(actor).host.report({ id: h1.id })).report!;
      expect(r.health.status).toBe('degraded');
      expect(JSON.stringify(r)).not.toContain(OTHER_TENANTS_VIF);
      expect(r.health.messages).toEqual(['1 message from the agent; details are shown to admins only']);
      expect(r.applyError?.message).toMatch(/^the agent did not apply generation \d+; details are shown to admins only$/);
    }
    const admin = (await f.caller(f.admin).host.report({ id: h1.id })).report!;
    expect(admin.health.messages).toEqual([`vif ${OTHER_TENANTS_VIF}: no carrier`]);
    expect(admin.applyError?.message).toBe(`vif ${OTHER_TENANTS_VIF}: tap device busy`);
  });

  it('likewise in the reports stream and in deployment progress', async () => {
    const abort = new AbortController();
    const it = (await f.caller(f.viewer, abort.signal).host.reports({ hostId: h1.id }))[Symbol.asyncIterator]();
    const first = (await it.next()).value as { report: unknown };
    abort.abort();
    await it.return?.();
    expect(JSON.stringify(first.report)).not.toContain(OTHER_TENANTS_VIF);
    const progress = await progressOf(f.operator, deploymentId);
    expect(progress.hosts[0]!.error).toMatch(/details are shown to admins only$/);
    expect(JSON.stringify(progress)).not.toContain(OTHER_TENANTS_VIF);
    expect((await progressOf(f.admin, deploymentId)).hosts[0]!.error).toContain(OTHER_TENANTS_VIF);
  });
});

async function progressOf(actor: ControlFixture['admin'], id: string) {
  const abort = new AbortController();
  const it = (await f.caller(actor, abort.signal).farm.deployProgress({ id }))[Symbol.asyncIterator]();
  const p = (await it.next()).value as { hosts: { error: string | null }[] };
  abort.abort();
  await it.return?.();
  return p;
}

describe('__proto__ keys and unstorable text', () => {
  it('are refused by strict inputs, naming the key, at any depth', async () => {
    const top = await post('farm.create', '{"json":{"name":"p1","__proto__":{"description":"x"}}}');
    expect(top).toMatchObject({ status: 400, code: 'BAD_REQUEST', field: '__proto__' });
    expect(top.message).toMatch(/^__proto__: /);
    const nested = await post('farm.import', '{"json":{"document":{"version":"softudc.farm/v1","name":"p2","layout":{"__proto__":{"x":1,"y":2}}}}}');
    expect(nested).toMatchObject({ status: 400, field: 'document.layout.__proto__' });
    expect(await f.db.farm.count({ where: { name: { in: ['p1', 'p2'] } } })).toBe(0);
  });

  it('nor does U+0000 get through where a schema passes values on unchecked', async () => {
    // A loose object's extra keys (a VIF's guest in an agent report) end up in a jsonb column.
    const vif = { id: 'shop/web/eth0', vnet: 100, mac: '02:5d:00:00:00:01', ip: '10.1.0.1/24', version: 1, guest: { kind: 'tap', netns: 'a\u0000b' } };
    const report = { ...agentReport(0), vifs: [vif] };
    const r = await post('agent.report', JSON.stringify({ json: report }), h1.credential);
    expect(r).toMatchObject({ status: 400, code: 'BAD_REQUEST', field: 'vifs.0.guest.netns' });
    expect(r.message).toBe('vifs.0.guest.netns: must not contain U+0000 or an unpaired UTF-16 surrogate');
  });
});

describe('layout positions', () => {
  it('must name nodes of the farm and lie on the canvas', async () => {
    const op = f.caller(f.operator);
    const vm = farm.vms.web!.id;
    await expectError(op.farm.saveLayout({ farmId: farm.id, positions: { [farm.vnets.front!.id]: { x: 1, y: 2 }, 'not-a-node': { x: 1, y: 1 } } }), 'BAD_REQUEST', 'positions.not-a-node');
    await expectError(op.farm.saveLayout({ farmId: farm.id, positions: { [vm]: { x: 1e308, y: 0 } } }), 'BAD_REQUEST', `positions.${vm}.x`);
    const other = await buildFarm(op, { name: 'elsewhere', vnets: [{ name: 'n', cidr: '10.9.0.0/24' }], vms: [] });
    await expectError(op.farm.saveLayout({ farmId: farm.id, positions: { [other.vnets.n!.id]: { x: 1, y: 1 } } }), 'BAD_REQUEST', `positions.${other.vnets.n!.id}`);
    expect((await op.farm.getLayout({ farmId: farm.id })).positions).toEqual({});
    const ok = await op.farm.saveLayout({ farmId: farm.id, positions: { [vm]: { x: -40, y: 120 } } });
    expect(ok.positions).toEqual({ [vm]: { x: -40, y: 120 } });
    const doc = { version: 'softudc.farm/v1' as const, name: 'far', vnets: [{ name: 'n', cidr: '10.8.0.0/24' }], layout: { 'vnet:n': { x: 0, y: -1e300 } } };
    await expectError(op.farm.import({ document: doc }), 'BAD_REQUEST', 'document.layout.vnet:n.y');
  });
});

describe('passwords', () => {
  it('of spaces only, padded to length, or one character repeated are refused', async () => {
    const admin = f.caller(f.admin);
    await expectError(admin.user.create({ username: 'spaces', password: ' '.repeat(12), role: 'viewer' }), 'BAD_REQUEST', 'password');
    await expectError(admin.user.create({ username: 'padded', password: `   short   ${'\t'.repeat(3)}`, role: 'viewer' }), 'BAD_REQUEST', 'password');
    await expectError(admin.user.create({ username: 'samesame', password: 'a'.repeat(16), role: 'viewer' }), 'BAD_REQUEST', 'password');
    const u = await admin.user.create({ username: 'fine', password: 'correct horse battery', role: 'viewer' });
    await expectError(admin.user.update({ id: u.id, password: ' '.repeat(20) }), 'BAD_REQUEST', 'password');
    expect(await f.db.user.count({ where: { username: { in: ['spaces', 'padded', 'samesame'] } } })).toBe(0);
  });
});
