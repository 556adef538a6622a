// External networks, external legs, floating IPs and port forwards through
// the API: admins define and bind networks, tenants attach legs; every bad
// input is refused naming its field with nothing stored; pool addresses are
// unique across tenants by a database constraint (parallel claims: one winner).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState } from '../server/compile/index.ts';
import { hostStateSchema } from '../contract/hostState.ts';
import { setupApi, type ApiFixture, type Caller } from './api.ts';
import { expectError, sampleFarm, stored, type SampleFarm } from './farm-fixtures.ts';

let api: ApiFixture;
let admin: Caller;
let op: Caller;
let other: Caller;
let farm: SampleFarm;
let otherFarm: SampleFarm;
let segA: string;
let segB: string;
let h1: string, h2: string, hOut: string;
let net: string;
let webVif: string, appVif: string, otherVif: string;

const NONE = '00000000-0000-4000-8000-000000000999';

beforeAll(async () => {
  api = await setupApi();
  admin = api.caller(api.admin);
  op = api.caller(api.operator);
  other = api.caller(api.otherOperator);
  segA = (await admin.segment.create({ name: 'lan-a' })).id;
  segB = (await admin.segment.create({ name: 'lan-b' })).id;
  const mk = (name: string, address: string, segmentId: string) =>
    api.db.host.create({ data: { name, address, segmentId }, select: { id: true } }).then((h) => h.id);
  h1 = await mk('h1', '127.0.0.2', segA);
  h2 = await mk('h2', '127.0.0.3', segA);
  hOut = await mk('h9', '127.0.0.9', segB);
  farm = await sampleFarm(op);
  otherFarm = await sampleFarm(other, 'theirs');
  const vifOf = async (c: Caller, vmId: string) => (await c.vm.get({ id: vmId })).vifs[0]!.id;
  webVif = await vifOf(op, farm.web);
  appVif = await vifOf(op, farm.app);
  otherVif = await vifOf(other, otherFarm.web);
}, 120_000);
afterAll(async () => {
  await api?.drop();
});

/** Everything stored about external networks and NAT, to prove a refusal changed nothing. */
async function natRows() {
  const order = { orderBy: { id: 'asc' as const } };
  return {
    networks: await api.db.externalNetwork.findMany(order),
    bindings: await api.db.externalNetworkBinding.findMany(order),
    legs: await api.db.externalLeg.findMany(order),
    addresses: await api.db.externalAddress.findMany(order),
    forwards: await api.db.portForward.findMany(order),
  };
}

const uplink = { name: 'uplink', cidr: '198.51.100.0/24', gateway: '198.51.100.1', poolStart: '198.51.100.10', poolEnd: '198.51.100.20' };

describe('external networks (admin)', () => {
  it('creates, lists, binds, updates; tenants may read', async () => {
    const n = await admin.externalNetwork.create({ segmentId: segA, ...uplink, description: 'rack A' });
    net = n.id;
    expect(n).toMatchObject({ segmentName: 'lan-a', poolSize: 11, poolUsed: 0, bindings: [] });
    const b = await admin.externalNetwork.bind({ id: net, hostId: h1, interface: 'enp1s0', vid: null });
    expect(b.bindings).toEqual([{ hostId: h1, hostName: 'h1', interface: 'enp1s0', vid: null }]);
    await admin.externalNetwork.bind({ id: net, hostId: h2, interface: 'bond0', vid: 100 });
    // Binding again replaces.
    const again = await admin.externalNetwork.bind({ id: net, hostId: h2, interface: 'bond0', vid: 101 });
    expect(again.bindings.map((x) => `${x.hostName}:${x.interface}:${x.vid}`)).toEqual(['h1:enp1s0:null', 'h2:bond0:101']);
    expect((await op.externalNetwork.list({})).items.map((x) => x.name)).toEqual(['uplink']);
    expect((await other.externalNetwork.get({ id: net })).cidr).toBe('198.51.100.0/24');
    // The same name in another segment is fine.
    const elsewhere = await admin.externalNetwork.create({ segmentId: segB, ...uplink });
    expect((await op.externalNetwork.list({ segmentId: segB })).items.map((x) => x.id)).toEqual([elsewhere.id]);
    await admin.externalNetwork.delete({ id: elsewhere.id });
    const u = await admin.externalNetwork.update({ id: net, description: 'rack A uplink' });
    expect(u.description).toBe('rack A uplink');
    expect(await api.db.auditLog.count({ where: { entityId: net, action: { startsWith: 'externalNetwork.' } } })).toBe(5);
  });

  it('refuses bad networks and bindings, naming the field and storing nothing', async () => {
    const before = await natRows();
    const bad: [() => Promise<unknown>, string, string][] = [
      // 1-9: addressing
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', cidr: '198.51.100.0/33' }), 'BAD_REQUEST', 'cidr'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', cidr: '198.51.100.7/24' }), 'BAD_REQUEST', 'cidr'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', gateway: '203.0.113.1' }), 'BAD_REQUEST', 'gateway'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', gateway: '198.51.100.15' }), 'BAD_REQUEST', 'gateway'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', poolStart: '203.0.113.10' }), 'BAD_REQUEST', 'poolStart'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', poolEnd: '198.51.100.255' }), 'BAD_REQUEST', 'poolEnd'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', poolStart: '198.51.100.30' }), 'BAD_REQUEST', 'poolEnd'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', gateway: 'not-an-ip' }), 'BAD_REQUEST', 'gateway'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', cidr: '198.51.100.0/31' }), 'BAD_REQUEST', 'cidr'],
      // 10-13: overlaps, names, segment
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2', cidr: '198.51.100.0/25', poolStart: '198.51.100.21', poolEnd: '198.51.100.30' }), 'CONFLICT', 'cidr'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n2' }), 'CONFLICT', 'poolStart'],
      [() => admin.externalNetwork.create({ segmentId: segA, ...uplink, cidr: '203.0.113.0/24', gateway: '203.0.113.1', poolStart: '203.0.113.2', poolEnd: '203.0.113.9' }), 'CONFLICT', 'name'],
      [() => admin.externalNetwork.create({ ...uplink, segmentId: NONE }), 'BAD_REQUEST', 'segmentId'],
      // 14-18: bindings
      [() => admin.externalNetwork.bind({ id: net, hostId: h1, interface: 'eth 0', vid: null }), 'BAD_REQUEST', 'interface'],
      [() => admin.externalNetwork.bind({ id: net, hostId: h1, interface: 'a-very-long-interface-name', vid: null }), 'BAD_REQUEST', 'interface'],
      [() => admin.externalNetwork.bind({ id: net, hostId: h1, interface: 'eth0', vid: 4095 }), 'BAD_REQUEST', 'vid'],
      [() => admin.externalNetwork.bind({ id: net, hostId: hOut, interface: 'eth0', vid: null }), 'BAD_REQUEST', 'hostId'],
      [() => admin.externalNetwork.bind({ id: net, hostId: NONE, interface: 'eth0', vid: null }), 'BAD_REQUEST', 'hostId'],
      // 19-20: pool updates that would strand nothing yet (still refused for range order), unknown network
      [() => admin.externalNetwork.update({ id: net, poolStart: '198.51.100.50' }), 'BAD_REQUEST', 'poolEnd'],
      [() => admin.externalNetwork.update({ id: NONE, name: 'x' }), 'NOT_FOUND', 'id'],
    ];
    for (const [call, code, field] of bad) await expectError(call(), code, field);
    // Only admins change them.
    await expectError(op.externalNetwork.create({ segmentId: segA, ...uplink, name: 'n3', cidr: '203.0.113.0/24' }), 'FORBIDDEN', null);
    await expectError(op.externalNetwork.bind({ id: net, hostId: h1, interface: 'eth0', vid: null }), 'FORBIDDEN', null);
    await expectError(other.externalNetwork.delete({ id: net }), 'FORBIDDEN', null);
    expect(await natRows()).toEqual(before);
  });
});

describe('external legs, floating IPs and port forwards (tenants)', () => {
  it('attaches a router: an address from the pool, SNAT of its interfaces by default', async () => {
    const r = await op.externalLeg.create({ expectedRevision: farm.revision, routerId: farm.router, externalNetworkId: net });
    farm.revision = r.farmRevision;
    expect(r.leg).toMatchObject({ ip: '198.51.100.10', prefixLen: 24, gateway: '198.51.100.1', networkName: 'uplink', routerId: farm.router, firewallId: null });
    expect([...r.leg.snat].sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    const f = await op.floatingIp.create({ legId: r.leg.id, expectedRevision: farm.revision, vifId: webVif });
    farm.revision = f.farmRevision;
    expect(f.floatingIp).toMatchObject({ ip: '198.51.100.11', vifId: webVif });
    const p = await op.portForward.create({ legId: r.leg.id, expectedRevision: farm.revision, protocol: 'tcp', externalPort: 2222, vifId: appVif, internalPort: 22 });
    farm.revision = p.farmRevision;
    const detail = await op.farm.get({ id: farm.farmId });
    expect(detail.externalLegs).toHaveLength(1);
    expect(detail.externalLegs[0]!.floatingIps.map((x) => x.ip)).toEqual(['198.51.100.11']);
    expect(detail.externalLegs[0]!.portForwards).toMatchObject([{ protocol: 'tcp', externalPort: 2222, internalPort: 22, vifId: appVif }]);
    expect((await admin.externalNetwork.get({ id: net })).poolUsed).toBe(2);
  });

  it('refuses bad legs, floating IPs and forwards, naming the field and storing nothing', async () => {
    const before = { rows: await natRows(), farm: await stored(op, farm.farmId), theirs: await stored(other, otherFarm.farmId) };
    const leg = (await op.farm.get({ id: farm.farmId })).externalLegs[0]!;
    const rev = farm.revision;
    const fwLeg = { expectedRevision: rev, firewallId: farm.firewall, externalNetworkId: net };
    const fip = { legId: leg.id, expectedRevision: rev };
    const fwd = { legId: leg.id, expectedRevision: rev, protocol: 'udp' as const, externalPort: 5353, vifId: appVif, internalPort: 53 };
    const bad: [() => Promise<unknown>, string, string][] = [
      // 21-29: legs
      [() => op.externalLeg.create({ expectedRevision: rev, routerId: farm.router, externalNetworkId: net }), 'CONFLICT', 'routerId'],
      [() => op.externalLeg.create({ ...fwLeg, ip: '203.0.113.5' }), 'BAD_REQUEST', 'ip'],
      [() => op.externalLeg.create({ ...fwLeg, ip: '198.51.100.100' }), 'BAD_REQUEST', 'ip'],
      [() => op.externalLeg.create({ ...fwLeg, ip: '198.51.100.1' }), 'BAD_REQUEST', 'ip'],
      [() => op.externalLeg.create({ ...fwLeg, ip: '198.51.100.10' }), 'CONFLICT', 'ip'],
      [() => op.externalLeg.create({ ...fwLeg, snat: ['10.1.0.0/33'] }), 'BAD_REQUEST', 'snat.0'],
      [() => op.externalLeg.create({ ...fwLeg, snat: ['10.1.0.0/24', '10.1.0.0/24'] }), 'BAD_REQUEST', 'snat.1'],
      [() => op.externalLeg.create({ ...fwLeg, snat: ['198.51.100.0/28'] }), 'BAD_REQUEST', 'snat.0'],
      [() => op.externalLeg.create({ ...fwLeg, mac: 'ff:ff:ff:ff:ff:ff' }), 'BAD_REQUEST', 'mac'],
      [() => op.externalLeg.create({ ...fwLeg, externalNetworkId: NONE }), 'BAD_REQUEST', 'externalNetworkId'],
      [() => op.externalLeg.create({ expectedRevision: rev, externalNetworkId: net }), 'BAD_REQUEST', 'routerId'],
      [() => op.externalLeg.create({ ...fwLeg, expectedRevision: rev - 1 }), 'CONFLICT', 'expectedRevision'],
      [() => other.externalLeg.create({ expectedRevision: rev, routerId: farm.router, externalNetworkId: net }), 'NOT_FOUND', 'routerId'],
      // 34-40: floating IPs
      [() => op.floatingIp.create({ ...fip, vifId: appVif, ip: '198.51.100.11' }), 'CONFLICT', 'ip'],
      [() => op.floatingIp.create({ ...fip, vifId: appVif, ip: '198.51.100.10' }), 'CONFLICT', 'ip'],
      [() => op.floatingIp.create({ ...fip, vifId: webVif }), 'CONFLICT', 'vifId'],
      [() => op.floatingIp.create({ ...fip, vifId: otherVif }), 'BAD_REQUEST', 'vifId'],
      [() => op.floatingIp.create({ ...fip, vifId: NONE }), 'BAD_REQUEST', 'vifId'],
      [() => op.floatingIp.create({ ...fip, vifId: appVif, ip: '10.2.0.10' }), 'BAD_REQUEST', 'ip'],
      [() => other.floatingIp.create({ ...fip, vifId: otherVif }), 'NOT_FOUND', 'legId'],
      // 41-47: port forwards
      [() => op.portForward.create({ ...fwd, externalPort: 0 }), 'BAD_REQUEST', 'externalPort'],
      [() => op.portForward.create({ ...fwd, externalPort: 65_536 }), 'BAD_REQUEST', 'externalPort'],
      [() => op.portForward.create({ ...fwd, internalPort: 0 }), 'BAD_REQUEST', 'internalPort'],
      [() => op.portForward.create({ ...fwd, protocol: 'tcp', externalPort: 2222 }), 'CONFLICT', 'externalPort'],
      [() => op.portForward.create({ ...fwd, vifId: NONE }), 'BAD_REQUEST', 'vifId'],
      [() => op.portForward.create({ ...fwd, vifId: otherVif }), 'BAD_REQUEST', 'vifId'],
      [() => op.portForward.create({ ...fwd, protocol: 'icmp' as never }), 'BAD_REQUEST', 'protocol'],
      // 48-50: deletes of what is not there or not theirs, a network in use
      [() => op.floatingIp.delete({ id: NONE, expectedRevision: rev }), 'NOT_FOUND', 'id'],
      [() => other.externalLeg.delete({ id: leg.id, expectedRevision: rev }), 'NOT_FOUND', 'id'],
      [() => admin.externalNetwork.delete({ id: net }), 'CONFLICT', 'id'],
      [() => admin.externalNetwork.update({ id: net, gateway: '198.51.100.2' }), 'CONFLICT', 'gateway'],
      [() => admin.externalNetwork.update({ id: net, poolStart: '198.51.100.11' }), 'CONFLICT', 'poolStart'],
    ];
    expect(bad.length + 20).toBeGreaterThanOrEqual(25);
    for (const [call, code, field] of bad) await expectError(call(), code, field);
    // A viewer changes nothing.
    await expectError(api.caller(api.viewer).portForward.create(fwd), 'FORBIDDEN', null);
    expect({ rows: await natRows(), farm: await stored(op, farm.farmId), theirs: await stored(other, otherFarm.farmId) }).toEqual(before);
  });

  it('hands a pool address to exactly one of parallel claims, across tenants', async () => {
    const theirRouter = otherFarm.router;
    const mine = await op.externalLeg.create({ expectedRevision: farm.revision, firewallId: farm.firewall, externalNetworkId: net, ip: '198.51.100.15' });
    farm.revision = mine.farmRevision;
    // Two tenants ask for the same floating address at once.
    const claims = await Promise.allSettled([
      op.floatingIp.create({ legId: mine.leg.id, expectedRevision: farm.revision, vifId: appVif, ip: '198.51.100.16' }),
      other.externalLeg.create({ expectedRevision: otherFarm.revision, routerId: theirRouter, externalNetworkId: net, ip: '198.51.100.16' }),
    ]);
    const won = claims.filter((c) => c.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = claims.find((c) => c.status === 'rejected') as PromiseRejectedResult;
    expect(String(lost.reason.message)).toMatch(/^ip: /);
    expect(await api.db.externalAddress.count({ where: { ip: '198.51.100.16' } })).toBe(1);
    // Whoever lost, the books are straight: refresh revisions.
    farm.revision = (await op.farm.get({ id: farm.farmId })).revision;
    otherFarm.revision = (await other.farm.get({ id: otherFarm.farmId })).revision;
    // Automatic claims in parallel never collide either.
    const legs = (await other.farm.get({ id: otherFarm.farmId })).externalLegs;
    const theirLeg = legs[0] ?? (await other.externalLeg.create({ expectedRevision: otherFarm.revision, routerId: theirRouter, externalNetworkId: net })).leg;
    otherFarm.revision = (await other.farm.get({ id: otherFarm.farmId })).revision;
    const myLeg = (await op.farm.get({ id: farm.farmId })).externalLegs.find((l) => l.firewallId === farm.firewall)!;
    const myFree = myLeg.floatingIps.some((f) => f.vifId === appVif) ? null : appVif;
    const auto = await Promise.allSettled([
      ...(myFree ? [op.floatingIp.create({ legId: myLeg.id, expectedRevision: farm.revision, vifId: myFree })] : []),
      other.floatingIp.create({ legId: theirLeg.id, expectedRevision: otherFarm.revision, vifId: otherVif }),
    ]);
    expect(auto.every((c) => c.status === 'fulfilled')).toBe(true);
    const ips = (await api.db.externalAddress.findMany({ where: { externalNetworkId: net }, select: { ip: true } })).map((a) => a.ip);
    expect(new Set(ips).size).toBe(ips.length);
    farm.revision = (await op.farm.get({ id: farm.farmId })).revision;
    otherFarm.revision = (await other.farm.get({ id: otherFarm.farmId })).revision;
  });

  it('gives addresses back when forwards, floating IPs, legs and VMs go', async () => {
    const detail = await op.farm.get({ id: farm.farmId });
    const leg = detail.externalLegs.find((l) => l.routerId === farm.router)!;
    let r = await op.portForward.delete({ id: leg.portForwards[0]!.id, expectedRevision: farm.revision });
    r = await op.floatingIp.delete({ id: leg.floatingIps[0]!.id, expectedRevision: r.farmRevision });
    farm.revision = r.farmRevision;
    const u = await op.externalLeg.update({ id: leg.id, expectedRevision: farm.revision, ip: '198.51.100.11', snat: ['10.1.0.0/24'] });
    farm.revision = u.farmRevision;
    expect(u.leg).toMatchObject({ ip: '198.51.100.11', snat: ['10.1.0.0/24'] });
    expect(await api.db.externalAddress.count({ where: { ip: '198.51.100.10' } })).toBe(0);
    const d = await op.externalLeg.delete({ id: leg.id, expectedRevision: farm.revision });
    farm.revision = d.farmRevision;
    expect(await api.db.externalAddress.count({ where: { legId: leg.id } })).toBe(0);
    // A VM that goes takes its floating IPs and forwards with it.
    const fwLeg = (await op.farm.get({ id: farm.farmId })).externalLegs.find((l) => l.firewallId === farm.firewall)!;
    const tmp = await op.vm.create({ farmId: farm.farmId, expectedRevision: farm.revision, name: 'tmp', vifs: [{ vnetId: farm.front }] });
    const tmpVif = tmp.vm.vifs[0]!.id;
    const f = await op.floatingIp.create({ legId: fwLeg.id, expectedRevision: tmp.farmRevision, vifId: tmpVif, ip: '198.51.100.19' });
    const p = await op.portForward.create({ legId: fwLeg.id, expectedRevision: f.farmRevision, protocol: 'udp', externalPort: 53, vifId: tmpVif, internalPort: 53 });
    const gone = await op.vm.delete({ id: tmp.vm.id, expectedRevision: p.farmRevision });
    farm.revision = gone.farmRevision;
    expect(await api.db.externalAddress.count({ where: { ip: '198.51.100.19' } })).toBe(0);
    expect(await api.db.portForward.count({ where: { vifId: tmpVif } })).toBe(0);
  });
});

describe('deploy, farm documents', () => {
  const stateOf = async (hostId: string) => {
    const row = await api.db.hostDesiredState.findUnique({ where: { hostId }, select: { state: true } });
    return (row?.state ?? null) as unknown as HostState | null;
  };
  let legId: string;

  it('compiles the leg onto its router’s host: uplink vnet, interface with NAT, default route', async () => {
    // A bigger pool, its addresses in use kept.
    expect((await admin.externalNetwork.update({ id: net, poolEnd: '198.51.100.100' })).poolSize).toBe(91);
    let r = await op.router.update({ id: farm.router, expectedRevision: farm.revision, hostId: h1 });
    const leg = await op.externalLeg.create({ expectedRevision: r.farmRevision, routerId: farm.router, externalNetworkId: net, ip: '198.51.100.50' });
    legId = leg.leg.id;
    const f = await op.floatingIp.create({ legId, expectedRevision: leg.farmRevision, vifId: webVif, ip: '198.51.100.51' });
    const p = await op.portForward.create({ legId, expectedRevision: f.farmRevision, protocol: 'tcp', externalPort: 8080, vifId: appVif, internalPort: 80 });
    farm.revision = p.farmRevision;
    await op.farm.deploy({ id: farm.farmId });
    const vnid = Number((await api.db.externalLeg.findUniqueOrThrow({ where: { id: legId }, select: { vnid: true } })).vnid);
    expect(vnid).toBeGreaterThanOrEqual(0xff00_0000);
    const s1 = (await stateOf(h1))!;
    expect(s1.vnets.find((v) => v.id === vnid)).toMatchObject({ external: { interface: 'enp1s0', vid: null, mac: leg.leg.mac } });
    const router = s1.routers.find((x) => x.id === farm.router)!;
    expect(router.interfaces.find((i) => i.vnet === vnid)).toEqual({
      vnet: vnid, mac: leg.leg.mac, ip: '198.51.100.50/24', rip: false,
      nat: {
        snat: ['10.1.0.0/24', '10.2.0.0/24'],
        floatingIps: [{ external: '198.51.100.51', internal: '10.1.0.10' }],
        portForwards: [{ protocol: 'tcp', external: '198.51.100.50', externalPort: 8080, internal: '10.2.0.10', internalPort: 80 }],
      },
    });
    expect(router.staticRoutes).toContainEqual({ destination: '0.0.0.0/0', nextHop: '198.51.100.1', metric: 1 });
    // What the agent gets passes the contract (NAT lists, the uplink, one leg per interface and MAC).
    const parsed = hostStateSchema.safeParse(s1);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    // The firewall's leg is not placed (no host): nothing of it runs.
    expect(s1.firewalls).toEqual([]);

    // Moving the router moves the leg, onto h2's binding (VLAN 101 of bond0).
    r = await op.router.update({ id: farm.router, expectedRevision: farm.revision, hostId: h2 });
    farm.revision = r.farmRevision;
    await op.farm.deploy({ id: farm.farmId });
    expect((await stateOf(h2))!.vnets.find((v) => v.id === vnid)).toMatchObject({ external: { interface: 'bond0', vid: 101, mac: leg.leg.mac } });
    expect((await stateOf(h1))?.vnets.find((v) => v.id === vnid)).toBeUndefined();
  });

  it('refuses to deploy a leg whose host has no binding, and to unbind a host a deployed leg runs on', async () => {
    // The leg's subnet is connected on the router: an interface overlapping it is refused.
    const clash = await op.vnet.create({ farmId: farm.farmId, expectedRevision: farm.revision, name: 'clash', cidr: '198.51.100.128/25' });
    const e0 = await expectError(op.router.addInterface({ routerId: farm.router, expectedRevision: clash.farmRevision, vnetId: clash.vnet.id }), 'BAD_REQUEST', 'ip');
    expect(e0.message).toContain('external network uplink');
    farm.revision = (await op.vnet.delete({ id: clash.vnet.id, expectedRevision: clash.farmRevision })).farmRevision;
    const h3 = (await api.db.host.create({ data: { name: 'h3', address: '127.0.0.4', segmentId: segA }, select: { id: true } })).id;
    const r = await op.router.update({ id: farm.router, expectedRevision: farm.revision, hostId: h3 });
    farm.revision = r.farmRevision;
    const e = await expectError(op.farm.deploy({ id: farm.farmId }), 'BAD_REQUEST', 'routers.0.external');
    expect(e.message).toContain('has no binding');
    const back = await op.router.update({ id: farm.router, expectedRevision: farm.revision, hostId: h2 });
    farm.revision = back.farmRevision;
    await op.farm.deploy({ id: farm.farmId });
    const before = await natRows();
    await expectError(admin.externalNetwork.unbind({ id: net, hostId: h2 }), 'BAD_REQUEST', 'routers.0.external');
    expect(await natRows()).toEqual(before);
  });

  it('carries legs in the farm document: export, import, apply', async () => {
    const doc = await op.farm.export({ id: farm.farmId });
    const r1 = doc.routers.find((x) => x.name === 'r1')!;
    expect(r1.external).toEqual({
      network: 'uplink', ip: '198.51.100.50', mac: expect.any(String), snat: ['10.1.0.0/24', '10.2.0.0/24'],
      floatingIps: [{ ip: '198.51.100.51', vm: 'web', vif: 'eth0' }],
      portForwards: [{ protocol: 'tcp', externalPort: 8080, vm: 'app', vif: 'eth0', internalPort: 80 }],
    });
    // The same addresses are held: an import naming them is refused whole.
    const copy = { ...doc, name: 'shop-copy', vnets: doc.vnets.map((v) => ({ ...v, vnid: undefined })) };
    const ri = doc.routers.findIndex((x) => x.name === 'r1');
    await expectError(op.farm.import({ document: copy }), 'CONFLICT', `document.routers.${ri}.external.ip`);
    expect((await op.farm.list({})).items.map((f) => f.name)).not.toContain('shop-copy');
    const bad = { ...copy, routers: copy.routers.map((x) => (x.external ? { ...x, external: { ...x.external, floatingIps: [{ vm: 'nope', vif: 'eth0' }] } } : x)) };
    await expectError(op.farm.import({ document: bad }), 'BAD_REQUEST', `document.routers.${ri}.external.floatingIps.0.vm`);
    const unknown = { ...copy, routers: copy.routers.map((x) => (x.external ? { ...x, external: { ...x.external, network: 'nowhere' } } : x)) };
    await expectError(op.farm.import({ document: unknown }), 'BAD_REQUEST', `document.routers.${ri}.external.network`);
    // Without addresses it takes free ones.
    const fresh = {
      ...copy,
      routers: copy.routers.map((x) => (x.external ? { ...x, external: { ...x.external, ip: undefined, mac: undefined, floatingIps: [{ vm: 'web', vif: 'eth0' }] } } : x)),
      firewalls: copy.firewalls.map(({ external: _e, ...x }) => x),
    };
    const imported = await op.farm.import({ document: fresh });
    const got = (await op.farm.export({ id: imported.id })).routers.find((x) => x.name === 'r1')!.external!;
    expect(got.ip).not.toBe('198.51.100.50');
    expect(got.floatingIps).toHaveLength(1);
    // Clone: free addresses again.
    const clone = await op.farm.clone({ id: farm.farmId, name: 'shop-clone' });
    expect((await op.farm.export({ id: clone.id })).routers.find((x) => x.name === 'r1')!.external!.network).toBe('uplink');

    // Apply: a changed SNAT list is a change; the leg keeps its vnet id.
    const vnid = (await api.db.externalLeg.findFirstOrThrow({ where: { routerId: farm.router }, select: { vnid: true } })).vnid;
    const applied = await op.farm.applyDocument({
      document: { ...doc, routers: doc.routers.map((x) => (x.external ? { ...x, external: { ...x.external, snat: ['10.2.0.0/24'] } } : x)) },
    });
    expect(applied.changes, JSON.stringify(applied)).not.toEqual([]);
    expect(applied.changed).toBe(true);
    expect(applied.changes.map((c) => `${c.op} ${c.kind} ${c.name}`)).toEqual(['change router r1']);
    const after = await api.db.externalLeg.findFirstOrThrow({ where: { routerId: farm.router }, select: { vnid: true, snat: true, ip: true } });
    expect(after).toEqual({ vnid, snat: ['10.2.0.0/24'], ip: '198.51.100.50' });
    farm.revision = applied.revision;
    const now = await op.farm.export({ id: farm.farmId });
    const same = await op.farm.applyDocument({ document: now });
    expect(same.changed).toBe(false);
    // Deployed, then planned unchanged: the leg stays where it runs, nothing changes on any host.
    await op.farm.deploy({ id: farm.farmId });
    const plan = await op.farm.planDocument({ document: now });
    expect(plan.changes).toEqual([]);
    expect(plan.hosts).toEqual([]);
    expect(plan.warnings.join(' ')).not.toContain('external leg');
  });
});
