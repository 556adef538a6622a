// Bad input to the farm-intent API: every case must fail with the right tRPC
// code and name the offending field, and leave everything stored exactly as
// it was (re-read through farm.get / farm.export / lists afterwards).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupApi, type ApiFixture, type Caller } from './api.ts';
import { expectError, sampleFarm, stored, type CaughtError, type SampleFarm } from './farm-fixtures.ts';

let api: ApiFixture;
let op: Caller;
let other: Caller;
let s: SampleFarm;
/** Another farm of tenant A, with one vnet. */
let s2: { farmId: string; revision: number; vnet: string };
/** A farm of tenant B. */
let b: { farmId: string; revision: number };
/** A deployed farm of tenant A. */
let deployed: { farmId: string; revision: number };
let vnids: { front: number; back: number };
let webMac: string;
let revokedHost: string;
let ruleIds: string[];
let outsideIface: string;
/** A second router of the sample farm, with no interfaces. */
let r2: string;

beforeAll(async () => {
  api = await setupApi();
  op = api.caller(api.operator);
  other = api.caller(api.otherOperator);
  s = await sampleFarm(op, 'valid');
  const second = await op.router.create({ farmId: s.farmId, expectedRevision: s.revision, name: 'r2' });
  r2 = second.router.id;
  s.revision = second.farmRevision;
  const farm = await op.farm.get({ id: s.farmId });
  vnids = { front: farm.vnets.find((v) => v.name === 'front')!.vnid, back: farm.vnets.find((v) => v.name === 'back')!.vnid };
  webMac = farm.vms.find((v) => v.name === 'web')!.vifs[0]!.mac;
  const fw = farm.firewalls[0]!;
  ruleIds = fw.rules.map((r) => r.id);
  outsideIface = fw.interfaces.find((i) => i.name === 'outside')!.id;

  const f2 = await op.farm.create({ name: 'second' });
  const v2 = await op.vnet.create({ farmId: f2.id, expectedRevision: 1, name: 'lan', cidr: '10.1.0.0/24' });
  s2 = { farmId: f2.id, revision: v2.farmRevision, vnet: v2.vnet.id };
  const fb = await other.farm.create({ name: 'tenant-b-farm' });
  b = { farmId: fb.id, revision: fb.revision };
  const fd = await op.farm.create({ name: 'live' });
  await api.db.farm.update({ where: { id: fd.id }, data: { deployedRevision: 1 }, select: { id: true } });
  deployed = { farmId: fd.id, revision: 1 };
  const h = await api.db.host.create({ data: { name: 'gone', address: '127.0.0.9', status: 'revoked' }, select: { id: true } });
  revokedHost = h.id;
});
afterAll(() => api.drop());

/** Everything a bad call could have touched. */
async function world() {
  const [a, second, live, farmsA, farmsB, vnets, vms] = await Promise.all([
    stored(op, s.farmId),
    stored(op, s2.farmId),
    stored(op, deployed.farmId),
    op.farm.list({ limit: 200 }),
    other.farm.list({ limit: 200 }),
    api.db.vnet.count(),
    api.db.vm.count(),
  ]);
  return { a, second, live, farmsA, farmsB, vnets, vms };
}

interface Case {
  name: string;
  call: () => Promise<unknown>;
  code: 'BAD_REQUEST' | 'CONFLICT' | 'NOT_FOUND';
  field: string;
  /** Text the message must contain. */
  says?: string;
  check?: (e: CaughtError) => void;
}

const r = () => s.revision;
const cases: Case[] = [
  { name: 'vnet id 0', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'z', cidr: '10.60.0.0/24', vnid: 0 }), code: 'BAD_REQUEST', field: 'vnid', says: '0 is invalid' },
  { name: 'vnet id 1 (the physical network)', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'z', cidr: '10.60.0.0/24', vnid: 1 }), code: 'BAD_REQUEST', field: 'vnid' },
  { name: 'vnet id 2^32', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'z', cidr: '10.60.0.0/24', vnid: 2 ** 32 }), code: 'BAD_REQUEST', field: 'vnid' },
  { name: 'vnet id used by another farm', call: () => op.vnet.create({ farmId: s2.farmId, expectedRevision: s2.revision, name: 'z', cidr: '10.60.0.0/24', vnid: vnids.front }), code: 'CONFLICT', field: 'vnid' },
  { name: 'vnet id used by another tenant', call: () => other.vnet.create({ farmId: b.farmId, expectedRevision: b.revision, name: 'z', cidr: '10.60.0.0/24', vnid: vnids.back }), code: 'CONFLICT', field: 'vnid', says: 'is not available in this deployment' },
  { name: 'vnet id change onto a used one', call: () => op.vnet.update({ id: s2.vnet, expectedRevision: s2.revision, vnid: vnids.front }), code: 'CONFLICT', field: 'vnid' },
  { name: 'MAC syntax', call: () => op.vif.create({ vmId: s.web, expectedRevision: r(), vnetId: s.back, mac: '02:5d:zz:00:00:01' }), code: 'BAD_REQUEST', field: 'mac', says: 'not a MAC' },
  { name: 'multicast MAC', call: () => op.vif.create({ vmId: s.web, expectedRevision: r(), vnetId: s.back, mac: '01:00:5e:00:00:fb' }), code: 'BAD_REQUEST', field: 'mac', says: 'unicast' },
  { name: 'broadcast MAC', call: () => op.vif.update({ id: webVif(), expectedRevision: r(), mac: 'ff:ff:ff:ff:ff:ff' }), code: 'BAD_REQUEST', field: 'mac' },
  { name: 'MAC already on the vnet', call: () => op.vif.create({ vmId: s.app, expectedRevision: r(), vnetId: s.front, mac: webMac.toUpperCase() }), code: 'CONFLICT', field: 'mac', says: 'VM web (eth0)' },
  { name: 'IP outside the vnet', call: () => op.vif.create({ vmId: s.app, expectedRevision: r(), vnetId: s.front, ip: '10.9.0.5' }), code: 'BAD_REQUEST', field: 'ip', says: 'outside vnet front 10.1.0.0/24' },
  { name: 'network address', call: () => op.vif.create({ vmId: s.app, expectedRevision: r(), vnetId: s.front, ip: '10.1.0.0' }), code: 'BAD_REQUEST', field: 'ip', says: 'network address' },
  { name: 'broadcast address', call: () => op.vif.create({ vmId: s.app, expectedRevision: r(), vnetId: s.front, ip: '10.1.0.255' }), code: 'BAD_REQUEST', field: 'ip', says: 'broadcast address' },
  { name: 'IPv4 syntax', call: () => op.vif.update({ id: webVif(), expectedRevision: r(), ip: '10.1.0.010' }), code: 'BAD_REQUEST', field: 'ip' },
  { name: "IP held by a router's interface", call: () => op.vif.update({ id: webVif(), expectedRevision: r(), ip: '10.1.0.1' }), code: 'CONFLICT', field: 'ip', says: 'router r1' },
  { name: 'duplicate IP within one new VM', call: () => op.vm.create({ farmId: s.farmId, expectedRevision: r(), name: 'twin', vifs: [{ vnetId: s.back }, { vnetId: s.back, ip: '10.2.0.10' }] }), code: 'CONFLICT', field: 'vifs.1.ip', says: 'VM app (eth0)' },
  { name: 'CIDR with host bits', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'z', cidr: '10.50.0.1/24' }), code: 'BAD_REQUEST', field: 'cidr', says: '10.50.0.0/24' },
  { name: 'CIDR prefix /31', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'z', cidr: '10.50.0.0/31' }), code: 'BAD_REQUEST', field: 'cidr' },
  { name: 'CIDR prefix /4', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'z', cidr: '16.0.0.0/4' }), code: 'BAD_REQUEST', field: 'cidr' },
  { name: 'CIDR syntax', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'z', cidr: 'ten.0.0.0/8' }), code: 'BAD_REQUEST', field: 'cidr' },
  { name: 'MTU too small', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'z', cidr: '10.50.0.0/24', mtu: 575 }), code: 'BAD_REQUEST', field: 'mtu' },
  { name: 'MTU too large', call: () => op.vnet.update({ id: s.front, expectedRevision: r(), mtu: 9001 }), code: 'BAD_REQUEST', field: 'mtu' },
  { name: 'narrowing a vnet below its addresses', call: () => op.vnet.update({ id: s.back, expectedRevision: r(), cidr: '10.2.0.0/29' }), code: 'BAD_REQUEST', field: 'cidr', says: 'VM app (eth0)' },
  { name: 'router interfaces on one vnet', call: () => op.router.create({ farmId: s.farmId, expectedRevision: r(), name: 'r9', interfaces: [{ vnetId: s.back }, { vnetId: s.back }] }), code: 'BAD_REQUEST', field: 'interfaces.1.vnetId' },
  { name: 'overlapping router prefixes', call: () => op.router.create({ farmId: s.farmId, expectedRevision: r(), name: 'r9', interfaces: [{ vnetId: s.front, prefixLen: 8 }, { vnetId: s.back }] }), code: 'BAD_REQUEST', field: 'interfaces.1.ip', says: 'overlaps 10.0.0.0/8' },
  { name: 'second interface of a router on a vnet', call: () => op.router.addInterface({ routerId: s.router, expectedRevision: r(), vnetId: s.front }), code: 'BAD_REQUEST', field: 'vnetId' },
  { name: 'static route next hop off-link', call: () => op.router.addStaticRoute({ routerId: s.router, expectedRevision: r(), destination: '172.16.0.0/12', nextHop: '10.9.9.9' }), code: 'BAD_REQUEST', field: 'nextHop', says: 'not on a prefix' },
  { name: 'static route destination', call: () => op.router.addStaticRoute({ routerId: s.router, expectedRevision: r(), destination: '300.0.0.0/8', nextHop: '10.1.0.10' }), code: 'BAD_REQUEST', field: 'destination' },
  { name: 'static route next hop is the router itself', call: () => op.router.addStaticRoute({ routerId: s.router, expectedRevision: r(), destination: '172.16.0.0/12', nextHop: '10.1.0.1' }), code: 'BAD_REQUEST', field: 'nextHop' },
  { name: 'static route metric 16', call: () => op.router.addStaticRoute({ routerId: s.router, expectedRevision: r(), destination: '172.16.0.0/12', nextHop: '10.1.0.10', metric: 16 }), code: 'BAD_REQUEST', field: 'metric' },
  { name: 'static route duplicate destination', call: () => op.router.addStaticRoute({ routerId: s.router, expectedRevision: r(), destination: '192.168.0.0/16', nextHop: '10.1.0.10' }), code: 'CONFLICT', field: 'destination' },
  { name: 'interface change stranding a static route', call: () => op.router.updateInterface({ id: backIface(), expectedRevision: r(), ip: '10.2.0.2', prefixLen: 30 }), code: 'CONFLICT', field: 'ip', says: '192.168.0.0/16' },
  { name: 'router linked to itself', call: () => op.router.link({ expectedRevision: r(), routerAId: s.router, routerBId: s.router }), code: 'BAD_REQUEST', field: 'routerBId' },
  { name: 'link prefix /29', call: () => op.router.link({ expectedRevision: r(), routerAId: s.router, routerBId: r2, cidr: '169.254.9.0/29' }), code: 'BAD_REQUEST', field: 'cidr' },
  { name: 'link prefix inside a vnet', call: () => op.router.link({ expectedRevision: r(), routerAId: s.router, routerBId: r2, cidr: '10.1.0.4/30' }), code: 'BAD_REQUEST', field: 'cidr', says: 'overlaps 10.1.0.0/24' },
  { name: 'link addresses equal', call: () => op.router.link({ expectedRevision: r(), routerAId: s.router, routerBId: r2, cidr: '169.254.9.0/30', ipA: '169.254.9.1', ipB: '169.254.9.1' }), code: 'BAD_REQUEST', field: 'ipB' },
  { name: 'firewall port range reversed', call: () => op.firewall.setRules({ firewallId: s.firewall, expectedRevision: r(), rules: [{ action: 'allow', protocol: 'tcp', portFrom: 443, portTo: 80 }] }), code: 'BAD_REQUEST', field: 'rules.0.portTo' },
  { name: 'firewall port 0', call: () => op.firewall.setRules({ firewallId: s.firewall, expectedRevision: r(), rules: [{ action: 'allow' }, { action: 'allow', protocol: 'udp', portFrom: 0 }] }), code: 'BAD_REQUEST', field: 'rules.1.portFrom' },
  { name: 'ports with icmp', call: () => op.firewall.setRules({ firewallId: s.firewall, expectedRevision: r(), rules: [{ action: 'deny', protocol: 'icmp', portFrom: 8 }] }), code: 'BAD_REQUEST', field: 'rules.0.portFrom', says: 'only to tcp and udp' },
  { name: 'rule on an unknown interface', call: () => op.firewall.setRules({ firewallId: s.firewall, expectedRevision: r(), rules: [{ action: 'allow', interface: 'dmz' }] }), code: 'BAD_REQUEST', field: 'rules.0.interface', says: 'inside, outside' },
  { name: 'rule source CIDR', call: () => op.firewall.create({ farmId: s.farmId, expectedRevision: r(), name: 'fw2', rules: [{ action: 'allow', source: '10.0.0.0/33' }] }), code: 'BAD_REQUEST', field: 'rules.0.source' },
  { name: 'firewall interface name taken', call: () => op.firewall.addInterface({ firewallId: s.firewall, expectedRevision: r(), name: 'outside', vnetId: s.front }), code: 'CONFLICT', field: 'name' },
  { name: 'interface a rule matches on', call: () => op.firewall.removeInterface({ id: outsideIface, expectedRevision: r() }), code: 'CONFLICT', field: 'id', says: 'rules 0' },
  { name: 'rule moved out of range', call: () => op.firewall.moveRule({ id: ruleIds[0]!, expectedRevision: r(), position: 2 }), code: 'BAD_REQUEST', field: 'position' },
  { name: 'duplicate VM name', call: () => op.vm.create({ farmId: s.farmId, expectedRevision: r(), name: 'web' }), code: 'CONFLICT', field: 'name', says: 'a VM named "web"' },
  { name: 'duplicate vnet name', call: () => op.vnet.create({ farmId: s.farmId, expectedRevision: r(), name: 'front', cidr: '10.70.0.0/24' }), code: 'CONFLICT', field: 'name' },
  { name: 'duplicate router name', call: () => op.router.create({ farmId: s.farmId, expectedRevision: r(), name: 'r1' }), code: 'CONFLICT', field: 'name' },
  { name: 'rename onto another router', call: () => op.router.update({ id: r2, expectedRevision: r(), name: 'r1' }), code: 'CONFLICT', field: 'name' },
  { name: 'duplicate farm name', call: () => op.farm.update({ id: s2.farmId, expectedRevision: s2.revision, name: 'valid' }), code: 'CONFLICT', field: 'name' },
  { name: 'name syntax', call: () => op.vm.create({ farmId: s.farmId, expectedRevision: r(), name: '-web' }), code: 'BAD_REQUEST', field: 'name' },
  { name: 'name too long', call: () => op.firewall.update({ id: s.firewall, expectedRevision: r(), name: 'f'.repeat(64) }), code: 'BAD_REQUEST', field: 'name' },
  { name: 'deleting a vnet in use', call: () => op.vnet.delete({ id: s.front, expectedRevision: r() }), code: 'CONFLICT', field: 'id', says: 'VM web (eth0), router r1, firewall fw (outside)',
    check: (e) => expect(e.details).toEqual({ vifs: [{ vm: 'web', vif: 'eth0' }], routers: ['r1'], firewalls: [{ firewall: 'fw', interface: 'outside' }] }) },
  { name: 'deleting a deployed farm', call: () => op.farm.delete({ id: deployed.farmId, expectedRevision: deployed.revision }), code: 'CONFLICT', field: 'id', says: 'undeploy' },
  { name: 'stale expectedRevision', call: () => op.vm.update({ id: s.web, expectedRevision: r() - 1, name: 'late' }), code: 'CONFLICT', field: 'expectedRevision', says: 'reload and retry' },
  { name: 'expectedRevision 0', call: () => op.vm.update({ id: s.web, expectedRevision: 0, name: 'late' }), code: 'BAD_REQUEST', field: 'expectedRevision' },
  { name: 'unknown VM id', call: () => op.vm.update({ id: randomUUID(), expectedRevision: r(), name: 'ghost' }), code: 'NOT_FOUND', field: 'id' },
  { name: 'unknown vnet id', call: () => op.vif.create({ vmId: s.web, expectedRevision: r(), vnetId: randomUUID() }), code: 'NOT_FOUND', field: 'vnetId' },
  { name: "another farm's vnet", call: () => op.vif.create({ vmId: s.web, expectedRevision: r(), vnetId: s2.vnet }), code: 'NOT_FOUND', field: 'vnetId' },
  { name: 'unknown host', call: () => op.vm.update({ id: s.web, expectedRevision: r(), hostId: randomUUID() }), code: 'NOT_FOUND', field: 'hostId' },
  { name: 'revoked host', call: () => op.router.update({ id: s.router, expectedRevision: r(), hostId: revokedHost }), code: 'BAD_REQUEST', field: 'hostId', says: 'revoked' },
  { name: 'id that is not a UUID', call: () => op.vm.get({ id: 'web' }), code: 'BAD_REQUEST', field: 'id' },
  { name: 'import: address outside its vnet', call: () => op.farm.import({ document: doc({ vms: [{ name: 'a', vifs: [{ vnet: 'n', ip: '10.0.1.5' }] }] }) }), code: 'BAD_REQUEST', field: 'document.vms.0.vifs.0.ip' },
  { name: 'import: malformed shape', call: () => op.farm.import({ document: doc({ vnets: [{ name: 'n', cidr: 24 }] }) }), code: 'BAD_REQUEST', field: 'document.vnets.0.cidr' },
  { name: 'import: vnet id used in the deployment', call: () => op.farm.import({ document: doc({ vnets: [{ name: 'n', cidr: '10.0.0.0/24', vnid: vnids.front }] }) }), code: 'CONFLICT', field: 'document.vnets.0.vnid' },
  { name: 'clone: vnet id mapping onto a used id', call: () => op.farm.clone({ id: s.farmId, name: 'copy', vnids: { back: vnids.front } }), code: 'CONFLICT', field: 'vnids.back' },
];

/** A document as a client might send it, type-checked only by the server. */
function doc(parts: Record<string, unknown>): never {
  return { version: 'softudc.farm/v1', name: 'imported', vnets: [{ name: 'n', cidr: '10.0.0.0/24' }], ...parts } as never;
}
const webVif = () => webVifId;
const backIface = () => backIfaceId;
let webVifId = '';
let backIfaceId = '';

describe('bad input leaves everything as it was', () => {
  beforeAll(async () => {
    const farm = await op.farm.get({ id: s.farmId });
    webVifId = farm.vms.find((v) => v.name === 'web')!.vifs[0]!.id;
    backIfaceId = farm.routers[0]!.interfaces.find((i) => i.vnetId === s.back)!.id;
  });

  it('covers at least 40 distinct bad inputs', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of cases) {
    it(`${c.name}: ${c.code} naming ${c.field}`, async () => {
      const before = await world();
      const e = await expectError(c.call(), c.code, c.field);
      if (c.says) expect(e.message).toContain(c.says);
      c.check?.(e);
      expect(await world()).toEqual(before);
    });
  }
});
