// Farm intent through the real router (createCaller) on a real database:
// CRUD of every entity, roles, tenants, automatic addresses, optimistic
// concurrency and the audit trail. Layout and revisions: api-farm-document.test.ts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupApi, type ApiFixture, type Caller } from './api.ts';
import { caught, expectError, sampleFarm, stored, type SampleFarm } from './farm-fixtures.ts';

let api: ApiFixture;
let op: Caller;

beforeAll(async () => {
  api = await setupApi();
  op = api.caller(api.operator);
});
afterAll(() => api.drop());

describe('farms', () => {
  it('creates, lists with counts and pages, reads, renames and deletes', async () => {
    const a = await op.farm.create({ name: 'crud-a', description: 'first' });
    expect(a).toMatchObject({ name: 'crud-a', description: 'first', revision: 1, deployedRevision: null });
    expect(a.counts).toEqual({ vnets: 0, vms: 0, routers: 0, firewalls: 0 });
    const b = await op.farm.create({ name: 'crud-b' });
    await op.vnet.create({ farmId: b.id, expectedRevision: 1, name: 'n', cidr: '10.9.0.0/24' });

    const all = await op.farm.list({ limit: 200 });
    const names = all.items.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['crud-a', 'crud-b']));
    expect(all.items.find((f) => f.id === b.id)?.counts.vnets).toBe(1);
    // Paging: one at a time, following the cursor, visits every farm once in a stable order.
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const page = await op.farm.list({ limit: 1, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((f) => f.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(all.items.map((f) => f.id));

    const renamed = await op.farm.update({ id: a.id, expectedRevision: 1, name: 'crud-a2', description: 'renamed' });
    expect(renamed.farmRevision).toBe(2);
    expect(renamed.farm).toMatchObject({ name: 'crud-a2', description: 'renamed', revision: 2 });
    expect((await op.farm.get({ id: a.id })).name).toBe('crud-a2');

    const del = await op.farm.delete({ id: a.id, expectedRevision: 2 });
    expect(del).toEqual({ farmRevision: 3, id: a.id });
    await expectError(op.farm.get({ id: a.id }), 'NOT_FOUND', 'id');
  });

  it('answers the whole farm in one read', async () => {
    const s = await sampleFarm(op, 'whole');
    const farm = await op.farm.get({ id: s.farmId });
    expect(farm.revision).toBe(s.revision);
    expect(farm.vnets.map((v) => v.name)).toEqual(['front', 'back']);
    expect(farm.vms.map((v) => [v.name, v.vifs.length])).toEqual([['web', 1], ['app', 1]]);
    expect(farm.routers[0]?.interfaces).toHaveLength(2);
    expect(farm.routers[0]?.staticRoutes).toEqual([expect.objectContaining({ destination: '192.168.0.0/16', nextHop: '10.2.0.10', metric: 1 })]);
    expect(farm.firewalls[0]?.rules.map((r) => [r.position, r.protocol, r.interface])).toEqual([[0, 'tcp', 'outside'], [1, 'icmp', null]]);
  });
});

describe('vnets', () => {
  it('assigns the lowest free vnet id from 100, accepts a chosen one, updates and deletes', async () => {
    const farm = await op.farm.create({ name: 'vnets' });
    const used = new Set((await api.db.vnet.findMany({ select: { vnid: true } })).map((v) => Number(v.vnid)));
    let expected = 100;
    while (used.has(expected)) expected++;
    const a = await op.vnet.create({ farmId: farm.id, expectedRevision: 1, name: 'a', cidr: '10.3.0.0/24' });
    expect(a.vnet).toMatchObject({ vnid: expected, cidr: '10.3.0.0/24', mtu: 1400, security: 'none' });
    const b = await op.vnet.create({
      farmId: farm.id, expectedRevision: 2, name: 'b', cidr: '10.4.0.0/16', vnid: 4_000_000_000, mtu: 1500, security: 'conf',
    });
    expect(b.vnet).toMatchObject({ vnid: 4_000_000_000, mtu: 1500, security: 'conf' });
    expect(await op.vnet.get({ id: b.vnet.id })).toEqual(b.vnet);
    expect((await op.vnet.list({ farmId: farm.id })).items.map((v) => v.name)).toEqual(['a', 'b']);

    const vm = await op.vm.create({ farmId: farm.id, expectedRevision: 3, name: 'x', vifs: [{ vnetId: a.vnet.id, ip: '10.3.0.77' }] });
    // A wider prefix that still holds every address in use is accepted.
    const wider = await op.vnet.update({ id: a.vnet.id, expectedRevision: vm.farmRevision, cidr: '10.3.0.0/23', name: 'a2', mtu: 9000 });
    expect(wider.vnet).toMatchObject({ cidr: '10.3.0.0/23', name: 'a2', mtu: 9000 });
    const del = await op.vnet.delete({ id: b.vnet.id, expectedRevision: wider.farmRevision });
    expect(del.id).toBe(b.vnet.id);
    await expectError(op.vnet.get({ id: b.vnet.id }), 'NOT_FOUND', 'id');
  });
});

describe('VMs and VIFs', () => {
  it('creates VMs with VIFs, moves them between hosts, and manages VIFs', async () => {
    const [h1, h2] = await Promise.all([
      api.db.host.create({ data: { name: 'vm-h1', address: '127.0.0.2' }, select: { id: true } }),
      api.db.host.create({ data: { name: 'vm-h2', address: '127.0.0.3' }, select: { id: true } }),
    ]);
    const farm = await op.farm.create({ name: 'vms' });
    const n = await op.vnet.create({ farmId: farm.id, expectedRevision: 1, name: 'lan', cidr: '10.5.0.0/24' });
    const m = await op.vnet.create({ farmId: farm.id, expectedRevision: 2, name: 'mgmt', cidr: '10.6.0.0/24' });
    const vm = await op.vm.create({
      farmId: farm.id, expectedRevision: 3, name: 'db', hostId: h1.id,
      vifs: [{ vnetId: n.vnet.id, mac: '02:AA:BB:CC:DD:EE', ip: '10.5.0.20' }, { vnetId: m.vnet.id }],
    });
    expect(vm.vm).toMatchObject({ name: 'db', hostId: h1.id, hostName: 'vm-h1', guestKind: 'emulated', locationVersion: 1 });
    expect(vm.vm.vifs.map((v) => [v.name, v.mac, v.ip])).toEqual([
      ['eth0', '02:aa:bb:cc:dd:ee', '10.5.0.20'],
      ['eth1', vm.vm.vifs[1]!.mac, '10.6.0.1'],
    ]);
    expect(await op.vm.get({ id: vm.vm.id })).toEqual(vm.vm);

    let rev = vm.farmRevision;
    const moved = await op.vm.update({ id: vm.vm.id, expectedRevision: rev, hostId: h2.id, guestKind: 'tap', name: 'db1' });
    expect(moved.vm).toMatchObject({ hostId: h2.id, hostName: 'vm-h2', locationVersion: 2, guestKind: 'tap', name: 'db1' });
    rev = moved.farmRevision;
    // A rename that leaves the placement alone does not count as a move.
    const renamed = await op.vm.update({ id: vm.vm.id, expectedRevision: rev, name: 'db2' });
    expect(renamed.vm.locationVersion).toBe(2);
    rev = renamed.farmRevision;
    const unplaced = await op.vm.update({ id: vm.vm.id, expectedRevision: rev, hostId: null });
    expect(unplaced.vm).toMatchObject({ hostId: null, locationVersion: 3 });
    rev = unplaced.farmRevision;

    // VIFs: the next one takes the lowest free ethN.
    const eth1 = vm.vm.vifs[1]!;
    const gone = await op.vif.delete({ id: eth1.id, expectedRevision: rev });
    rev = gone.farmRevision;
    const added = await op.vif.create({ vmId: vm.vm.id, expectedRevision: rev, vnetId: m.vnet.id, ip: '10.6.0.9' });
    expect(added.vif).toMatchObject({ name: 'eth1', ip: '10.6.0.9' });
    rev = added.farmRevision;
    const third = await op.vif.create({ vmId: vm.vm.id, expectedRevision: rev, vnetId: n.vnet.id });
    expect(third.vif.name).toBe('eth2');
    rev = third.farmRevision;
    const changed = await op.vif.update({ id: added.vif.id, expectedRevision: rev, ip: '10.6.0.10', mac: '02-00-00-00-00-99' });
    expect(changed.vif).toMatchObject({ ip: '10.6.0.10', mac: '02:00:00:00:00:99' });
    rev = changed.farmRevision;
    // Re-sending a VIF's own address is not a clash with itself.
    const same = await op.vif.update({ id: added.vif.id, expectedRevision: rev, ip: '10.6.0.10' });
    rev = same.farmRevision;
    expect((await op.vif.list({ vmId: vm.vm.id })).items.map((v) => v.name).sort()).toEqual(['eth0', 'eth1', 'eth2']);
    expect((await op.vif.list({ farmId: farm.id })).items).toHaveLength(3);
    expect((await op.vm.list({ farmId: farm.id })).items.map((v) => v.name)).toEqual(['db2']);

    const deleted = await op.vm.delete({ id: vm.vm.id, expectedRevision: rev });
    expect(deleted.id).toBe(vm.vm.id);
    expect(await api.db.vif.count({ where: { vmId: vm.vm.id } })).toBe(0);
  });
});

describe('routers', () => {
  it('manages interfaces, static routes and links', async () => {
    const s = await sampleFarm(op, 'routing');
    let rev = s.revision;
    const dmz = await op.vnet.create({ farmId: s.farmId, expectedRevision: rev, name: 'dmz', cidr: '10.8.0.0/24' });
    rev = dmz.farmRevision;
    const r1 = await op.router.get({ id: s.router });
    const added = await op.router.addInterface({ routerId: s.router, expectedRevision: rev, vnetId: dmz.vnet.id });
    // Routers take the highest free address, leaving the bottom of the prefix to the hosts.
    expect(added.interface).toMatchObject({ ip: '10.8.0.254', prefixLen: 24, rip: false });
    rev = added.farmRevision;
    const upd = await op.router.updateInterface({ id: added.interface.id, expectedRevision: rev, ip: '10.8.0.1', rip: true, prefixLen: 25 });
    expect(upd.interface).toMatchObject({ ip: '10.8.0.1', rip: true, prefixLen: 25 });
    rev = upd.farmRevision;

    const r2 = await op.router.create({ farmId: s.farmId, expectedRevision: rev, name: 'r2', interfaces: [{ vnetId: dmz.vnet.id }] });
    rev = r2.farmRevision;
    const link = await op.router.link({ expectedRevision: rev, routerAId: s.router, routerBId: r2.router.id, rip: true });
    expect(link.link).toMatchObject({ cidr: '169.254.0.0/30', ipA: '169.254.0.1', ipB: '169.254.0.2', rip: true });
    rev = link.farmRevision;
    const r3 = await op.router.create({ farmId: s.farmId, expectedRevision: rev, name: 'r3' });
    rev = r3.farmRevision;
    const link2 = await op.router.link({ expectedRevision: rev, routerAId: r2.router.id, routerBId: r3.router.id, cidr: '172.31.255.0/31' });
    expect(link2.link).toMatchObject({ cidr: '172.31.255.0/31', ipA: '172.31.255.0', ipB: '172.31.255.1' });
    rev = link2.farmRevision;
    // A route via the link's far end, then the link cannot go while the route needs it.
    const viaLink = await op.router.addStaticRoute({ routerId: r3.router.id, expectedRevision: rev, destination: '0.0.0.0/0', nextHop: '172.31.255.0', metric: 5 });
    rev = viaLink.farmRevision;
    await expectError(op.router.unlink({ id: link2.link.id, expectedRevision: rev }), 'CONFLICT', 'id');
    rev = (await op.router.removeStaticRoute({ id: viaLink.staticRoute.id, expectedRevision: rev })).farmRevision;
    rev = (await op.router.unlink({ id: link2.link.id, expectedRevision: rev })).farmRevision;

    const renamed = await op.router.update({ id: r2.router.id, expectedRevision: rev, name: 'edge' });
    expect(renamed.router.name).toBe('edge');
    rev = renamed.farmRevision;
    const removed = await op.router.removeInterface({ id: added.interface.id, expectedRevision: rev });
    rev = removed.farmRevision;
    expect((await op.router.get({ id: s.router })).interfaces).toHaveLength(r1.interfaces.length);
    expect((await op.router.list({ farmId: s.farmId })).items.map((r) => r.name)).toEqual(['r1', 'edge', 'r3']);
    rev = (await op.router.delete({ id: r3.router.id, expectedRevision: rev })).farmRevision;
    const farm = await op.farm.get({ id: s.farmId });
    expect(farm.routerLinks).toHaveLength(1);
    expect(farm.revision).toBe(rev);
  });
});

describe('firewalls', () => {
  it('manages interfaces and ordered rules', async () => {
    const s = await sampleFarm(op, 'filtering');
    let rev = s.revision;
    const dmz = await op.vnet.create({ farmId: s.farmId, expectedRevision: rev, name: 'dmz', cidr: '10.8.0.0/24' });
    rev = dmz.farmRevision;
    const iface = await op.firewall.addInterface({ firewallId: s.firewall, expectedRevision: rev, name: 'dmz', vnetId: dmz.vnet.id, ip: '10.8.0.1' });
    expect(iface.interface).toMatchObject({ name: 'dmz', ip: '10.8.0.1', prefixLen: 24 });
    rev = iface.farmRevision;
    const set = await op.firewall.setRules({
      firewallId: s.firewall, expectedRevision: rev,
      rules: [
        { action: 'allow', protocol: 'tcp', source: '0.0.0.0/0', destination: '10.8.0.0/24', portFrom: 443, interface: 'outside' },
        { action: 'allow', protocol: 'udp', portFrom: 53, portTo: 53, interface: 'dmz' },
        { action: 'deny', log: true, description: 'everything else' },
      ],
    });
    expect(set.firewall.rules.map((r) => [r.position, r.action, r.protocol, r.portFrom, r.portTo, r.interface])).toEqual([
      [0, 'allow', 'tcp', 443, 443, 'outside'],
      [1, 'allow', 'udp', 53, 53, 'dmz'],
      [2, 'deny', 'any', null, null, null],
    ]);
    rev = set.farmRevision;
    const moved = await op.firewall.moveRule({ id: set.firewall.rules[2]!.id, expectedRevision: rev, position: 0 });
    expect(moved.firewall.rules.map((r) => r.description)).toEqual(['everything else', '', '']);
    expect(moved.firewall.rules.map((r) => r.position)).toEqual([0, 1, 2]);
    rev = moved.farmRevision;
    const upd = await op.firewall.update({ id: s.firewall, expectedRevision: rev, defaultPolicy: 'allow', name: 'fw1' });
    expect(upd.firewall).toMatchObject({ defaultPolicy: 'allow', name: 'fw1' });
    rev = upd.farmRevision;
    // Only once no rule matches on it can an interface go.
    await expectError(op.firewall.removeInterface({ id: iface.interface.id, expectedRevision: rev }), 'CONFLICT', 'id');
    rev = (await op.firewall.setRules({ firewallId: s.firewall, expectedRevision: rev, rules: [] })).farmRevision;
    rev = (await op.firewall.removeInterface({ id: iface.interface.id, expectedRevision: rev })).farmRevision;
    const fw = await op.firewall.get({ id: s.firewall });
    expect(fw.interfaces.map((i) => i.name).sort()).toEqual(['inside', 'outside']);
    expect((await op.firewall.list({ farmId: s.farmId })).items).toHaveLength(1);
    rev = (await op.firewall.delete({ id: s.firewall, expectedRevision: rev })).farmRevision;
    await expectError(op.firewall.get({ id: s.firewall }), 'NOT_FOUND', 'id');
  });
});

describe('automatic addresses', () => {
  it('gives locally administered unicast MACs and the next free IPs, unique on the vnet', async () => {
    const farm = await op.farm.create({ name: 'auto' });
    const n = await op.vnet.create({ farmId: farm.id, expectedRevision: 1, name: 'n', cidr: '10.10.0.0/28' });
    let rev = n.farmRevision;
    const first = await op.vm.create({ farmId: farm.id, expectedRevision: rev, name: 'v0', vifs: [{ vnetId: n.vnet.id, ip: '10.10.0.2' }] });
    rev = first.farmRevision;
    const macs = new Set<string>([first.vm.vifs[0]!.mac]);
    const ips: string[] = [];
    for (let i = 1; i <= 12; i++) {
      const r = await op.vm.create({ farmId: farm.id, expectedRevision: rev, name: `v${i}`, vifs: [{ vnetId: n.vnet.id }] });
      rev = r.farmRevision;
      const vif = r.vm.vifs[0]!;
      expect(vif.mac).toMatch(/^02:5d(:[0-9a-f]{2}){4}$/);
      macs.add(vif.mac);
      ips.push(vif.ip);
    }
    expect(macs.size).toBe(13);
    // .2 was taken by hand; the rest fill up from .1 in order.
    expect(ips).toEqual(['10.10.0.1', ...Array.from({ length: 11 }, (_, i) => `10.10.0.${i + 3}`)]);
    const router = await op.router.create({ farmId: farm.id, expectedRevision: rev, name: 'gw', interfaces: [{ vnetId: n.vnet.id }] });
    expect(router.router.interfaces[0]?.ip).toBe('10.10.0.14');
    rev = router.farmRevision;
    // The /28 has 14 host addresses and all are taken now.
    const full = await expectError(op.vm.create({ farmId: farm.id, expectedRevision: rev, name: 'v13', vifs: [{ vnetId: n.vnet.id }] }), 'CONFLICT', 'vifs.0.ip');
    expect(full.message).toContain('no free address');
  });
});

describe('roles and tenants', () => {
  let s: SampleFarm;
  beforeAll(async () => {
    s = await sampleFarm(op, 'guarded');
  });

  it('lets a viewer read everything and change nothing', async () => {
    const viewer = api.caller(api.viewer);
    expect((await viewer.farm.get({ id: s.farmId })).name).toBe('guarded');
    await viewer.farm.export({ id: s.farmId });
    await viewer.vm.list({ farmId: s.farmId });
    const before = await stored(op, s.farmId);
    const r = s.revision;
    const attempts: (() => Promise<unknown>)[] = [
      () => viewer.farm.create({ name: 'nope' }),
      () => viewer.farm.update({ id: s.farmId, expectedRevision: r, name: 'x' }),
      () => viewer.farm.delete({ id: s.farmId, expectedRevision: r }),
      () => viewer.farm.clone({ id: s.farmId, name: 'copy' }),
      () => viewer.farm.import({ document: before.document, name: 'imp' }),
      () => viewer.farm.saveLayout({ farmId: s.farmId, positions: { a: { x: 1, y: 2 } } }),
      () => viewer.farm.createRevision({ farmId: s.farmId }),
      () => viewer.vnet.create({ farmId: s.farmId, expectedRevision: r, name: 'v', cidr: '10.99.0.0/24' }),
      () => viewer.vnet.update({ id: s.front, expectedRevision: r, mtu: 1500 }),
      () => viewer.vnet.delete({ id: s.front, expectedRevision: r }),
      () => viewer.vm.create({ farmId: s.farmId, expectedRevision: r, name: 'vm' }),
      () => viewer.vm.update({ id: s.web, expectedRevision: r, name: 'w' }),
      () => viewer.vm.delete({ id: s.web, expectedRevision: r }),
      () => viewer.vif.create({ vmId: s.web, expectedRevision: r, vnetId: s.front }),
      () => viewer.router.create({ farmId: s.farmId, expectedRevision: r, name: 'rx' }),
      () => viewer.router.link({ expectedRevision: r, routerAId: s.router, routerBId: s.router }),
      () => viewer.router.addStaticRoute({ routerId: s.router, expectedRevision: r, destination: '10.0.0.0/8', nextHop: '10.1.0.5' }),
      () => viewer.firewall.create({ farmId: s.farmId, expectedRevision: r, name: 'fx' }),
      () => viewer.firewall.setRules({ firewallId: s.firewall, expectedRevision: r, rules: [] }),
    ];
    for (const call of attempts) await expectError(call(), 'FORBIDDEN', null);
    expect(await stored(op, s.farmId)).toEqual(before);
  });

  it("hides one tenant's farms from another tenant entirely", async () => {
    const other = api.caller(api.otherOperator);
    const before = await stored(op, s.farmId);
    expect((await other.farm.list()).items.map((f) => f.id)).not.toContain(s.farmId);
    const r = s.revision;
    const cases: [() => Promise<unknown>, string][] = [
      [() => other.farm.get({ id: s.farmId }), 'id'],
      [() => other.farm.export({ id: s.farmId }), 'id'],
      [() => other.farm.update({ id: s.farmId, expectedRevision: r, name: 'stolen' }), 'id'],
      [() => other.farm.delete({ id: s.farmId, expectedRevision: r }), 'id'],
      [() => other.farm.clone({ id: s.farmId, name: 'stolen' }), 'id'],
      [() => other.farm.getLayout({ farmId: s.farmId }), 'farmId'],
      [() => other.farm.saveLayout({ farmId: s.farmId, positions: {} }), 'farmId'],
      [() => other.farm.createRevision({ farmId: s.farmId }), 'farmId'],
      [() => other.vm.create({ farmId: s.farmId, expectedRevision: r, name: 'intruder' }), 'farmId'],
      [() => other.vm.get({ id: s.web }), 'id'],
      [() => other.vm.delete({ id: s.web, expectedRevision: r }), 'id'],
      [() => other.vnet.list({ farmId: s.farmId }), 'farmId'],
      [() => other.vnet.update({ id: s.front, expectedRevision: r, name: 'x' }), 'id'],
      [() => other.vif.create({ vmId: s.web, expectedRevision: r, vnetId: s.front }), 'vmId'],
      [() => other.router.get({ id: s.router }), 'id'],
      [() => other.firewall.setRules({ firewallId: s.firewall, expectedRevision: r, rules: [] }), 'firewallId'],
    ];
    for (const [call, field] of cases) await expectError(call(), 'NOT_FOUND', field);
    // Tenant B's own VM cannot be wired to tenant A's vnet either.
    const mine = await other.farm.create({ name: 'b-farm' });
    await expectError(
      other.vm.create({ farmId: mine.id, expectedRevision: 1, name: 'x', vifs: [{ vnetId: s.front }] }),
      'NOT_FOUND', 'vifs.0.vnetId',
    );
    expect(await stored(op, s.farmId)).toEqual(before);
  });

  it('refuses callers that are not signed in', async () => {
    const anon = api.caller(null);
    await expectError(anon.farm.list(), 'UNAUTHORIZED', null);
    await expectError(anon.farm.get({ id: s.farmId }), 'UNAUTHORIZED', null);
  });
});

describe('optimistic concurrency', () => {
  it('lets exactly one of two writers with the same revision win and overwrites nothing', async () => {
    const s = await sampleFarm(op, 'race');
    const alice = api.caller(api.operator);
    const admin = api.caller(api.admin);
    const results = await Promise.allSettled([
      alice.vm.update({ id: s.web, expectedRevision: s.revision, name: 'by-alice' }),
      admin.vm.update({ id: s.web, expectedRevision: s.revision, name: 'by-admin' }),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    const e = await caught(Promise.reject(failed[0]!.reason));
    expect(e).toMatchObject({ code: 'CONFLICT', field: 'expectedRevision' });
    expect(e.message).toContain(`since revision ${s.revision}`);
    const winner = (ok[0] as PromiseFulfilledResult<{ vm: { name: string } }>).value.vm.name;
    const farm = await op.farm.get({ id: s.farmId });
    expect(farm.revision).toBe(s.revision + 1);
    expect(farm.vms.find((v) => v.id === s.web)?.name).toBe(winner);
  });

  it('refuses a stale revision even when the write alone would be valid', async () => {
    const s = await sampleFarm(op, 'stale');
    await op.vnet.update({ id: s.front, expectedRevision: s.revision, mtu: 1500 });
    const before = await stored(op, s.farmId);
    const e = await expectError(op.vnet.update({ id: s.front, expectedRevision: s.revision, mtu: 1300 }), 'CONFLICT', 'expectedRevision');
    expect(e.details).toEqual({ revision: s.revision + 1 });
    expect(await stored(op, s.farmId)).toEqual(before);
  });
});

describe('audit and unknown ids', () => {
  it('writes an audit entry for every intent change', async () => {
    const farm = await op.farm.create({ name: 'audited' });
    const v = await op.vnet.create({ farmId: farm.id, expectedRevision: 1, name: 'n', cidr: '10.20.0.0/24' });
    await op.vnet.update({ id: v.vnet.id, expectedRevision: 2, mtu: 1500 });
    const rows = await api.db.auditLog.findMany({
      where: { entityId: { in: [farm.id, v.vnet.id] } }, select: { action: true, actorName: true }, orderBy: { id: 'asc' },
    });
    expect(rows).toEqual([
      { action: 'farm.create', actorName: 'oscar-operator' },
      { action: 'vnet.create', actorName: 'oscar-operator' },
      { action: 'vnet.update', actorName: 'oscar-operator' },
    ]);
  });

  it('answers NOT_FOUND for ids that exist nowhere', async () => {
    await expectError(op.farm.get({ id: randomUUID() }), 'NOT_FOUND', 'id');
    await expectError(op.vm.get({ id: randomUUID() }), 'NOT_FOUND', 'id');
  });
});
