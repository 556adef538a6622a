// A vnet's DHCP and DNS settings through the API: defaults, checked input
// (field named, nothing stored on refusal), classless static routes, the
// farm document, and deploy: the compiled states carry the settings, the
// router's gateway, a resolver address, the farm's names, each VIF its VM's
// name, and the host's upstream resolvers (host.update, admins only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState } from '../server/compile/index.ts';
import { setupApi, type ApiFixture, type Caller } from './api.ts';
import { expectError, sampleFarm, stored, type SampleFarm } from './farm-fixtures.ts';

let api: ApiFixture;
let op: Caller;
let farm: SampleFarm;
let h1: string;

beforeAll(async () => {
  api = await setupApi();
  op = api.caller(api.operator);
  h1 = await api.db.host.create({ data: { name: 'h1', address: '127.0.0.2' }, select: { id: true } }).then((h) => h.id);
  farm = await sampleFarm(op);
  const r = await op.vm.update({ id: farm.web, expectedRevision: farm.revision, hostId: h1 });
  farm.revision = r.farmRevision;
}, 60_000);
afterAll(async () => {
  await api?.drop();
});

describe('vnet DHCP and DNS settings', () => {
  it('are on by default and change field by field', async () => {
    expect((await op.vnet.get({ id: farm.front })).dhcp).toEqual({ enabled: true, gateway: null, dnsServers: [], domain: null, leaseTime: 3600, routes: [] });
    const r = await op.vnet.update({ id: farm.front, expectedRevision: farm.revision, dhcp: { dnsServers: ['9.9.9.9'], domain: 'Example.Internal', leaseTime: 900 } });
    const s = await op.vnet.update({ id: farm.front, expectedRevision: r.farmRevision, dhcp: { gateway: '10.1.0.254' } });
    const t = await op.vnet.update({ id: farm.front, expectedRevision: s.farmRevision, dhcp: { routes: [{ destination: ' 10.20.0.0/16', gateway: '10.1.0.2' }, { destination: '192.0.2.0/24', gateway: '10.1.0.3' }] } });
    farm.revision = t.farmRevision;
    expect(s.vnet.dhcp).toEqual({ enabled: true, gateway: '10.1.0.254', dnsServers: ['9.9.9.9'], domain: 'example.internal', leaseTime: 900, routes: [] });
    expect(t.vnet.dhcp.routes).toEqual([{ destination: '10.20.0.0/16', gateway: '10.1.0.2' }, { destination: '192.0.2.0/24', gateway: '10.1.0.3' }]);
    const c = await op.vnet.create({ farmId: farm.farmId, expectedRevision: farm.revision, name: 'quiet', cidr: '10.9.0.0/24', dhcp: { enabled: false } });
    farm.revision = c.farmRevision;
    expect(c.vnet.dhcp.enabled).toBe(false);
    // A new CIDR that leaves a kept route's gateway off the vnet is refused, naming the route.
    const routed = await op.vnet.create({ farmId: farm.farmId, expectedRevision: farm.revision, name: 'routed', cidr: '10.8.0.0/24', dhcp: { routes: [{ destination: '10.30.0.0/16', gateway: '10.8.0.2' }] } });
    farm.revision = routed.farmRevision;
    await expectError(op.vnet.update({ id: routed.vnet.id, expectedRevision: farm.revision, cidr: '10.4.0.0/24' }), 'BAD_REQUEST', 'dhcp.routes.0.gateway');
  });

  it('refuses bad settings naming the field, storing nothing', async () => {
    const before = await stored(op, farm.farmId);
    const up = (dhcp: Record<string, unknown>) => op.vnet.update({ id: farm.front, expectedRevision: farm.revision, dhcp } as never);
    await expectError(up({ gateway: '10.2.0.1' }), 'BAD_REQUEST', 'dhcp.gateway');
    await expectError(up({ gateway: '10.1.0.255' }), 'BAD_REQUEST', 'dhcp.gateway');
    await expectError(up({ gateway: 'nope' }), 'BAD_REQUEST', 'dhcp.gateway');
    await expectError(up({ dnsServers: ['1.2.3'] }), 'BAD_REQUEST', 'dhcp.dnsServers.0');
    await expectError(up({ domain: 'bad_domain!' }), 'BAD_REQUEST', 'dhcp.domain');
    await expectError(up({ leaseTime: 5 }), 'BAD_REQUEST', 'dhcp.leaseTime');
    await expectError(up({ leaseTime: 10_000_000 }), 'BAD_REQUEST', 'dhcp.leaseTime');
    await expectError(up({ unknown: 1 }), 'BAD_REQUEST', 'dhcp.unknown');
    // Classless static routes: prefixes without host bits, gateways on the vnet, no /0, no destination twice.
    const route = (destination: string, gateway = '10.1.0.2') => up({ routes: [{ destination, gateway }] });
    expect((await expectError(route('10.20.0.1/16'), 'BAD_REQUEST', 'dhcp.routes.0.destination')).message).toMatch(/host bits set; the network address is 10\.20\.0\.0\/16/);
    expect((await expectError(route('10.20.0.0/33'), 'BAD_REQUEST', 'dhcp.routes.0.destination')).message).toMatch(/not an IPv4 CIDR prefix/);
    await expectError(route('10.20.0.0'), 'BAD_REQUEST', 'dhcp.routes.0.destination');
    expect((await expectError(route('0.0.0.0/0'), 'BAD_REQUEST', 'dhcp.routes.0.destination')).message).toMatch(/default route/);
    expect((await expectError(route('10.20.0.0/16', '10.2.0.1'), 'BAD_REQUEST', 'dhcp.routes.0.gateway')).message).toMatch(/outside the vnet's 10\.1\.0\.0\/24/);
    expect((await expectError(route('10.20.0.0/16', '10.1.0.0'), 'BAD_REQUEST', 'dhcp.routes.0.gateway')).message).toMatch(/network address/);
    expect((await expectError(up({ routes: [{ destination: '10.20.0.0/16', gateway: '10.1.0.2' }, { destination: '10.20.0.0/16', gateway: '10.1.0.3' }] }), 'BAD_REQUEST', 'dhcp.routes.1.destination')).message).toMatch(/twice/);
    await expectError(up({ routes: Array.from({ length: 17 }, (_, i) => ({ destination: `10.${30 + i}.0.0/16`, gateway: '10.1.0.2' })) }), 'BAD_REQUEST', 'dhcp.routes');
    expect(await stored(op, farm.farmId)).toEqual(before);
  });

  it('travel in the farm document, checked on import', async () => {
    const doc = await op.farm.export({ id: farm.farmId });
    const front = doc.vnets.find((v) => v.name === 'front')!;
    expect(front.dhcp).toEqual({
      enabled: true, gateway: '10.1.0.254', dnsServers: ['9.9.9.9'], domain: 'example.internal', leaseTime: 900,
      routes: [{ destination: '10.20.0.0/16', gateway: '10.1.0.2' }, { destination: '192.0.2.0/24', gateway: '10.1.0.3' }],
    });
    expect(doc.vnets.find((v) => v.name === 'back')!.dhcp).toBeUndefined();
    const copy = { ...doc, name: 'shop-2', vnets: doc.vnets.map((v) => ({ ...v, vnid: undefined })) };
    const imported = await op.farm.import({ document: copy });
    expect((await op.farm.export({ id: imported.id })).vnets.find((v) => v.name === 'front')!.dhcp).toEqual(front.dhcp);
    const at = doc.vnets.indexOf(front);
    const bad = { ...copy, name: 'shop-3', vnets: copy.vnets.map((v, i) => (i === at ? { ...v, dhcp: { gateway: '10.7.7.7' } } : v)) };
    await expectError(op.farm.import({ document: bad }), 'BAD_REQUEST', `document.vnets.${at}.dhcp.gateway`);
    const badRoute = { ...copy, name: 'shop-4', vnets: copy.vnets.map((v, i) => (i === at ? { ...v, dhcp: { routes: [{ destination: '10.20.1.0/16', gateway: '10.1.0.2' }] } } : v)) };
    await expectError(op.farm.import({ document: badRoute }), 'BAD_REQUEST', `document.vnets.${at}.dhcp.routes.0.destination`);
  });

  it('upstream resolvers are a host setting: admins set them, checked, and only admins', async () => {
    const admin = api.caller(api.admin);
    // Hosts carry every tenant's vnets: only admins, who administer hosts deployment-wide, redirect their DNS.
    for (const actor of [api.operator, api.viewer, api.otherOperator]) {
      await expectError(api.caller(actor).host.update({ id: h1, dnsUpstream: ['127.0.0.53'] }), 'FORBIDDEN', null);
    }
    expect((await admin.host.get({ id: h1 })).dnsUpstream).toEqual([]);
    await expectError(admin.host.update({ id: h1, dnsUpstream: ['nope'] }), 'BAD_REQUEST', 'dnsUpstream.0');
    await expectError(admin.host.update({ id: h1, dnsUpstream: ['224.0.0.1'] }), 'BAD_REQUEST', 'dnsUpstream.0');
    await expectError(admin.host.update({ id: h1, dnsUpstream: ['192.0.2.53', '192.0.2.53'] }), 'BAD_REQUEST', 'dnsUpstream');
    const h = await admin.host.update({ id: h1, dnsUpstream: ['192.0.2.53', ' 192.0.2.54'] });
    expect(h.dnsUpstream).toEqual(['192.0.2.53', '192.0.2.54']);
    expect((await admin.host.get({ id: h1 })).dnsUpstream).toEqual(['192.0.2.53', '192.0.2.54']);
    // Audited as a deployment-wide entry (no tenant), with the resolvers before and after.
    const entry = await api.db.auditLog.findFirstOrThrow({ where: { action: 'host.update', entityId: h1 }, orderBy: { id: 'desc' }, select: { tenantId: true, before: true, after: true, actorName: true } });
    expect(entry).toMatchObject({ tenantId: null, actorName: 'alice-admin', before: { dnsUpstream: [] }, after: { dnsUpstream: ['192.0.2.53', '192.0.2.54'] } });
  });

  it('deploy: the state carries gateway, resolver, DNS servers, domain under the farm, lease time, routes, names, host names and upstreams', async () => {
    await op.farm.deploy({ id: farm.farmId });
    const row = await api.db.hostDesiredState.findUnique({ where: { hostId: h1 }, select: { state: true } });
    const s = row!.state as unknown as HostState;
    const vnid = (await op.vnet.get({ id: farm.front })).vnid;
    expect(s.vnets.find((v) => v.id === vnid)!.dhcp).toEqual({
      enabled: true, gateway: '10.1.0.254', resolver: '10.1.0.253', dnsServers: ['9.9.9.9'], domain: 'shop.example.internal', leaseTime: 900,
      routes: [{ destination: '10.20.0.0/16', gateway: '10.1.0.2' }, { destination: '192.0.2.0/24', gateway: '10.1.0.3' }],
      names: [{ name: 'web', ip: '10.1.0.10' }],
    });
    expect(s.vifs.find((v) => v.vnet === vnid)!.hostName).toBe('web');
    expect(s.dns).toEqual({ upstream: ['192.0.2.53', '192.0.2.54'] });
    // Clearing the upstreams takes them out of the host's state.
    await api.caller(api.admin).host.update({ id: h1, dnsUpstream: [] });
    const after = (await api.db.hostDesiredState.findUnique({ where: { hostId: h1 }, select: { state: true } }))!.state as unknown as HostState;
    expect(after.dns).toBeUndefined();
  });
});
