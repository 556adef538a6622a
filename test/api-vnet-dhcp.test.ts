// A vnet's DHCP and DNS settings through the API: defaults, checked input
// (field named, nothing stored on refusal), the farm document, and deploy:
// the compiled states carry the settings, the router's gateway, a resolver
// address and the farm's names, and each VIF its VM's name.
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
    expect((await op.vnet.get({ id: farm.front })).dhcp).toEqual({ enabled: true, gateway: null, dnsServers: [], domain: null, leaseTime: 3600 });
    const r = await op.vnet.update({ id: farm.front, expectedRevision: farm.revision, dhcp: { dnsServers: ['9.9.9.9'], domain: 'Example.Internal', leaseTime: 900 } });
    const s = await op.vnet.update({ id: farm.front, expectedRevision: r.farmRevision, dhcp: { gateway: '10.1.0.254' } });
    farm.revision = s.farmRevision;
    expect(s.vnet.dhcp).toEqual({ enabled: true, gateway: '10.1.0.254', dnsServers: ['9.9.9.9'], domain: 'example.internal', leaseTime: 900 });
    const c = await op.vnet.create({ farmId: farm.farmId, expectedRevision: farm.revision, name: 'quiet', cidr: '10.9.0.0/24', dhcp: { enabled: false } });
    farm.revision = c.farmRevision;
    expect(c.vnet.dhcp.enabled).toBe(false);
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
    expect(await stored(op, farm.farmId)).toEqual(before);
  });

  it('travel in the farm document, checked on import', async () => {
    const doc = await op.farm.export({ id: farm.farmId });
    const front = doc.vnets.find((v) => v.name === 'front')!;
    expect(front.dhcp).toEqual({ enabled: true, gateway: '10.1.0.254', dnsServers: ['9.9.9.9'], domain: 'example.internal', leaseTime: 900 });
    expect(doc.vnets.find((v) => v.name === 'back')!.dhcp).toBeUndefined();
    const copy = { ...doc, name: 'shop-2', vnets: doc.vnets.map((v) => ({ ...v, vnid: undefined })) };
    const imported = await op.farm.import({ document: copy });
    expect((await op.farm.export({ id: imported.id })).vnets.find((v) => v.name === 'front')!.dhcp).toEqual(front.dhcp);
    const at = doc.vnets.indexOf(front);
    const bad = { ...copy, name: 'shop-3', vnets: copy.vnets.map((v, i) => (i === at ? { ...v, dhcp: { gateway: '10.7.7.7' } } : v)) };
    await expectError(op.farm.import({ document: bad }), 'BAD_REQUEST', `document.vnets.${at}.dhcp.gateway`);
  });

  it('deploy: the state carries gateway, resolver, DNS servers, domain under the farm, lease time, names and host names', async () => {
    await op.farm.deploy({ id: farm.farmId });
    const row = await api.db.hostDesiredState.findUnique({ where: { hostId: h1 }, select: { state: true } });
    const s = row!.state as unknown as HostState;
    const vnid = (await op.vnet.get({ id: farm.front })).vnid;
    expect(s.vnets.find((v) => v.id === vnid)!.dhcp).toEqual({
      enabled: true, gateway: '10.1.0.254', resolver: '10.1.0.253', dnsServers: ['9.9.9.9'], domain: 'shop.example.internal', leaseTime: 900,
      names: [{ name: 'web', ip: '10.1.0.10' }],
    });
    expect(s.vifs.find((v) => v.vnet === vnid)!.hostName).toBe('web');
  });
});
