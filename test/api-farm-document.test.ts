// The farm document: export -> import round trips, whole-document validation
// before anything is written, automatic addresses on import, clone, and
// revision snapshots that are the same document, and the designer layout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FarmDocument, FarmDocumentInput } from '../server/farms/farmDocument.ts';
import { parseFarmDocument } from '../server/farms/farms.ts';
import { AppError } from '../server/errors.ts';
import { setupApi, type ApiFixture, type Caller } from './api.ts';
import { expectError, sampleFarm, stored } from './farm-fixtures.ts';

let api: ApiFixture;
let op: Caller;

beforeAll(async () => {
  api = await setupApi();
  op = api.caller(api.operator);
  await api.db.host.createMany({ data: [{ name: 'h1', address: '127.0.0.2' }, { name: 'h2', address: '127.0.0.3' }] });
});
afterAll(() => api.drop());

/** A farm with every kind of node, placed on hosts, with a link and a layout. */
async function richFarm(name: string): Promise<string> {
  const s = await sampleFarm(op, name);
  const hosts = await api.db.host.findMany({ select: { id: true, name: true }, orderBy: { name: 'asc' } });
  let rev = s.revision;
  rev = (await op.vm.update({ id: s.web, expectedRevision: rev, hostId: hosts[0]!.id })).farmRevision;
  rev = (await op.router.update({ id: s.router, expectedRevision: rev, hostId: hosts[1]!.id })).farmRevision;
  const r2 = await op.router.create({ farmId: s.farmId, expectedRevision: rev, name: 'r2' });
  rev = (await op.router.link({ expectedRevision: r2.farmRevision, routerAId: s.router, routerBId: r2.router.id })).farmRevision;
  await op.farm.saveLayout({ farmId: s.farmId, positions: { [s.web]: { x: 1, y: 2 }, [s.front]: { x: 3, y: 4 }, [r2.router.id]: { x: 5, y: 6 } } });
  return s.farmId;
}

const farmCount = () => api.db.farm.count();

/** A snapshot without the database ids it carries beyond the exported document. */
function withoutIds(doc: FarmDocument): FarmDocument {
  return {
    ...doc,
    vms: doc.vms.map(({ id: _vm, ...vm }) => ({ ...vm, vifs: vm.vifs.map(({ id: _vif, serial: _serial, ...f }) => f) })),
    routers: doc.routers.map(({ id: _r, ...r }) => r),
    firewalls: doc.firewalls.map(({ id: _f, ...f }) => f),
    routerLinks: doc.routerLinks.map(({ vnid: _l, ...l }) => l),
    securityGroups: doc.securityGroups.map(({ id: _g, ...g }) => ({ ...g, rules: g.rules.map(({ id: _r, ...r }) => r) })),
  };
}
const revisionOf = async (farmId: string) => (await op.farm.get({ id: farmId })).revision;

describe('export and import', () => {
  it('round-trips: export, delete, import, export gives the same document', async () => {
    const id = await richFarm('trip');
    const original = await op.farm.export({ id });
    expect(original.version).toBe('softudc.farm/v1');
    expect(original.routerLinks).toEqual([{ a: 'r1', b: 'r2', cidr: '169.254.0.0/30', ipA: '169.254.0.1', ipB: '169.254.0.2', rip: false }]);
    expect(original.vms.find((v) => v.name === 'web')?.host).toBe('h1');
    expect(original.layout).toEqual({ 'router:r2': { x: 5, y: 6 }, 'vm:web': { x: 1, y: 2 }, 'vnet:front': { x: 3, y: 4 } });
    // Vnet ids are unique across the deployment, so the original must go before its ids can come back.
    const rev = (await op.farm.get({ id })).revision;
    await op.farm.delete({ id, expectedRevision: rev });
    const imported = await op.farm.import({ document: original });
    expect(imported).toMatchObject({ name: 'trip', revision: 1, counts: { vnets: 2, vms: 2, routers: 2, firewalls: 1 } });
    expect(await op.farm.export({ id: imported.id })).toEqual(original);
  });

  it('imports next to the original with fresh vnet ids when asked', async () => {
    const id = await richFarm('beside');
    const original = await op.farm.export({ id });
    await expectError(op.farm.import({ document: original, name: 'beside-2' }), 'CONFLICT', 'document.vnets.0.vnid');
    const copy = await op.farm.import({ document: original, name: 'beside-2', vnids: 'auto' });
    const again = await op.farm.export({ id: copy.id });
    const originalIds = new Set(original.vnets.map((v) => v.vnid));
    expect(again.vnets.every((v) => !originalIds.has(v.vnid!))).toBe(true);
    const strip = (d: FarmDocument) => ({ ...d, name: '', vnets: d.vnets.map((v) => ({ ...v, vnid: 0 })) });
    expect(strip(again)).toEqual(strip(original));
  });

  it('fills in what a document leaves out: vnet ids, MACs, IPs, VIF names, link prefixes', async () => {
    const document: FarmDocumentInput = {
      version: 'softudc.farm/v1',
      name: 'sparse',
      vnets: [{ name: 'a', cidr: '10.30.0.0/24' }, { name: 'b', cidr: '10.31.0.0/24' }],
      vms: [
        { name: 'late', vifs: [{ vnet: 'a' }] },
        { name: 'early', vifs: [{ vnet: 'a', ip: '10.30.0.1' }, { vnet: 'b' }] },
      ],
      routers: [
        { name: 'ra', interfaces: [{ vnet: 'a' }, { vnet: 'b', ip: '10.31.0.1', prefixLen: 25 }] },
        { name: 'rb', interfaces: [], staticRoutes: [] },
      ],
      routerLinks: [{ a: 'ra', b: 'rb' }],
      firewalls: [{ name: 'f', interfaces: [{ name: 'in', vnet: 'b' }], rules: [{ action: 'allow', interface: 'in' }] }],
    };
    const farm = await op.farm.import({ document: document as FarmDocument });
    const out = await op.farm.export({ id: farm.id });
    expect(out.vnets.every((v) => (v.vnid ?? 0) >= 100)).toBe(true);
    const late = out.vms.find((v) => v.name === 'late')!;
    const early = out.vms.find((v) => v.name === 'early')!;
    // The explicit .1 further down the document was reserved before .2 was handed to "late".
    expect(late.vifs).toEqual([expect.objectContaining({ name: 'eth0', vnet: 'a', ip: '10.30.0.2' })]);
    expect(early.vifs.map((v) => [v.name, v.ip])).toEqual([['eth0', '10.30.0.1'], ['eth1', '10.31.0.2']]);
    for (const v of [...late.vifs, ...early.vifs]) expect(v.mac).toMatch(/^02:5d:/);
    const ra = out.routers.find((r) => r.name === 'ra')!;
    expect(ra.interfaces.map((i) => [i.vnet, i.ip, i.prefixLen])).toEqual([['a', '10.30.0.254', 24], ['b', '10.31.0.1', 25]]);
    expect(out.routerLinks[0]).toMatchObject({ cidr: '169.254.0.0/30', ipA: '169.254.0.1', ipB: '169.254.0.2' });
    expect(out.firewalls[0]?.interfaces[0]).toMatchObject({ name: 'in', ip: '10.31.0.254' });
    expect(out.firewalls[0]?.rules[0]).toMatchObject({ action: 'allow', protocol: 'any', source: '0.0.0.0/0', interface: 'in' });
  });

  const base = (): FarmDocumentInput => ({
    version: 'softudc.farm/v1',
    name: 'broken',
    vnets: [{ name: 'n', cidr: '10.40.0.0/24' }, { name: 'm', cidr: '10.41.0.0/24' }],
    vms: [
      { name: 'a', vifs: [{ vnet: 'n' }] },
      { name: 'b', vifs: [{ vnet: 'n' }] },
      { name: 'c', vifs: [{ vnet: 'm' }] },
      { name: 'd', vifs: [{ vnet: 'n' }, { vnet: 'm', ip: '10.41.0.7' }] },
    ],
    routers: [{ name: 'r', interfaces: [{ vnet: 'n' }, { vnet: 'm' }] }],
    firewalls: [{ name: 'f', interfaces: [{ name: 'x', vnet: 'n' }], rules: [{ action: 'deny' }] }],
  });
  const bad: [string, (d: FarmDocumentInput) => unknown, string, string][] = [
    ['an address outside its vnet', (d) => (d.vms![3]!.vifs![1]!.ip = '10.40.0.9'), 'BAD_REQUEST', 'document.vms.3.vifs.1.ip'],
    ['an address used twice', (d) => (d.vms![3]!.vifs![0]!.ip = d.vms![0]!.vifs![0]!.ip = '10.40.0.5'), 'CONFLICT', 'document.vms.3.vifs.0.ip'],
    ['a multicast MAC', (d) => (d.vms![2]!.vifs![0]!.mac = '33:33:00:00:00:01'), 'BAD_REQUEST', 'document.vms.2.vifs.0.mac'],
    ['a VIF on an unknown vnet', (d) => (d.vms![1]!.vifs![0]!.vnet = 'nope'), 'BAD_REQUEST', 'document.vms.1.vifs.0.vnet'],
    ['two VMs with one name', (d) => (d.vms![2]!.name = 'a'), 'CONFLICT', 'document.vms.2.name'],
    ['vnet id 1', (d) => (d.vnets![1]!.vnid = 1), 'BAD_REQUEST', 'document.vnets.1.vnid'],
    ['one vnet id twice', (d) => (d.vnets![0]!.vnid = d.vnets![1]!.vnid = 7777), 'CONFLICT', 'document.vnets.1.vnid'],
    ['a bad CIDR', (d) => (d.vnets![1]!.cidr = '10.41.0.0/33'), 'BAD_REQUEST', 'document.vnets.1.cidr'],
    ['a router twice on one vnet', (d) => d.routers![0]!.interfaces!.push({ vnet: 'n' }), 'BAD_REQUEST', 'document.routers.0.interfaces.2.vnet'],
    ['a static route off-link', (d) => (d.routers![0]!.staticRoutes = [{ destination: '0.0.0.0/0', nextHop: '10.99.0.1' }]), 'BAD_REQUEST', 'document.routers.0.staticRoutes.0.nextHop'],
    ['a link to a router not in the document', (d) => (d.routerLinks = [{ a: 'r', b: 'ghost' }]), 'BAD_REQUEST', 'document.routerLinks.0.b'],
    ['a rule on an unknown interface', (d) => (d.firewalls![0]!.rules = [{ action: 'allow', interface: 'y' }]), 'BAD_REQUEST', 'document.firewalls.0.rules.0.interface'],
    ['ports on icmp', (d) => (d.firewalls![0]!.rules = [{ action: 'allow', protocol: 'icmp', portFrom: 1, portTo: 2 }]), 'BAD_REQUEST', 'document.firewalls.0.rules.0.portFrom'],
    ['an unknown host', (d) => (d.vms![2]!.host = 'h9'), 'BAD_REQUEST', 'document.vms.2.host'],
    ['a layout key naming no node', (d) => (d.layout = { 'vm:zz': { x: 0, y: 0 } }), 'BAD_REQUEST', 'document.layout.vm:zz'],
    ['an unknown field', (d) => ((d.vms![0] as Record<string, unknown>).hots = 'h1'), 'BAD_REQUEST', 'document.vms.0.hots'],
    ['a wrong version', (d) => ((d as Record<string, unknown>).version = 'softudc.farm/v0'), 'BAD_REQUEST', 'document.version'],
    ['a farm name in use', (d) => (d.name = 'taken'), 'CONFLICT', 'document.name'],
  ];

  it('accepts the unbroken document used below', async () => {
    const ok = await op.farm.import({ document: base() as FarmDocument, name: 'unbroken' });
    expect(ok.counts).toEqual({ vnets: 2, vms: 4, routers: 1, firewalls: 1 });
  });

  for (const [what, breakIt, code, field] of bad) {
    it(`refuses a document with ${what} and writes nothing`, async () => {
      if (what === 'a farm name in use') await op.farm.create({ name: 'taken' });
      const d = base();
      breakIt(d);
      const before = { farms: await op.farm.list({ limit: 200 }), count: await farmCount(), vnets: await api.db.vnet.count() };
      await expectError(op.farm.import({ document: d as FarmDocument }), code, field);
      expect({ farms: await op.farm.list({ limit: 200 }), count: await farmCount(), vnets: await api.db.vnet.count() }).toEqual(before);
    });
  }

  it('names the document path when a document is parsed outside the API', () => {
    const d = base();
    (d.vnets![0] as Record<string, unknown>).mtu = 'big';
    try {
      parseFarmDocument(d);
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).field).toBe('document.vnets.0.mtu');
      expect((err as AppError).message.startsWith('document.vnets.0.mtu: ')).toBe(true);
    }
  });
});

describe('clone', () => {
  it('copies intent with new vnet ids and fresh MACs, keeping addresses, rules and layout', async () => {
    const id = await richFarm('original');
    const source = await op.farm.export({ id });
    const before = await stored(op, id);
    const copy = await op.farm.clone({ id, name: 'copy' });
    expect(copy).toMatchObject({ name: 'copy', revision: 1, counts: { vnets: 2, vms: 2, routers: 2, firewalls: 1 } });
    expect(await stored(op, id)).toEqual(before);
    const cloned = await op.farm.export({ id: copy.id });
    const ids = new Set(source.vnets.map((v) => v.vnid));
    expect(cloned.vnets.some((v) => ids.has(v.vnid))).toBe(false);
    const macs = (d: FarmDocument) => [
      ...d.vms.flatMap((v) => v.vifs.map((f) => f.mac)),
      ...d.routers.flatMap((r) => r.interfaces.map((i) => i.mac)),
      ...d.firewalls.flatMap((f) => f.interfaces.map((i) => i.mac)),
    ];
    const oldMacs = new Set(macs(source));
    expect(macs(cloned).filter((m) => oldMacs.has(m))).toEqual([]);
    const shape = (d: FarmDocument) => ({
      ...d,
      name: '',
      vnets: d.vnets.map((v) => ({ ...v, vnid: 0 })),
      vms: d.vms.map((v) => ({ ...v, vifs: v.vifs.map((f) => ({ ...f, mac: '' })) })),
      routers: d.routers.map((r) => ({ ...r, interfaces: r.interfaces.map((i) => ({ ...i, mac: '' })) })),
      firewalls: d.firewalls.map((f) => ({ ...f, interfaces: f.interfaces.map((i) => ({ ...i, mac: '' })) })),
    });
    expect(shape(cloned)).toEqual(shape(source));
  });

  it('takes vnet ids from a mapping by vnet name', async () => {
    const id = await richFarm('mapped');
    const copy = await op.farm.clone({ id, name: 'mapped-copy', vnids: { front: 70_001, back: 70_002 } });
    const out = await op.farm.export({ id: copy.id });
    expect(out.vnets.map((v) => [v.name, v.vnid])).toEqual([['back', 70_002], ['front', 70_001]]);
    await expectError(op.farm.clone({ id, name: 'x', vnids: { nope: 70_003 } }), 'BAD_REQUEST', 'vnids.nope');
    await expectError(op.farm.clone({ id, name: 'x', vnids: { front: 70_004, back: 70_004 } }), 'CONFLICT', 'vnids.back');
    await expectError(op.farm.clone({ id, name: 'mapped-copy' }), 'CONFLICT', 'name');
  });
});

describe('revisions', () => {
  it('snapshot the exported document, with the database ids that name its parts on hosts', async () => {
    const id = await richFarm('snap');
    const rev = await op.farm.createRevision({ farmId: id });
    const got = await op.farm.getRevision({ farmId: id, revision: rev.revision });
    const exported = await op.farm.export({ id });
    expect(withoutIds(got.snapshot)).toEqual(exported);
    expect(JSON.stringify(exported)).not.toMatch(/"id"|"serial"/);
    // Router links carry their vnet ids across hosts, as stored with the links.
    const links = await api.db.routerLink.findMany({ where: { farmId: id }, select: { vnid: true } });
    expect(got.snapshot.routerLinks.map((l) => l.vnid).sort()).toEqual(links.map((l) => Number(l.vnid)).sort());
    expect(got.snapshot.routerLinks.length).toBeGreaterThan(0);
    const detail = await op.farm.get({ id });
    const serials = new Map((await api.db.vif.findMany({ where: { vm: { farmId: id } }, select: { id: true, serial: true } })).map((v) => [v.id, v.serial]));
    for (const vm of got.snapshot.vms) {
      const row = detail.vms.find((v) => v.name === vm.name)!;
      expect(vm.id).toBe(row.id);
      expect(vm.vifs.map((f) => [f.id, f.serial])).toEqual(row.vifs.map((f) => [f.id, serials.get(f.id)]));
    }
    expect(got.snapshot.routers.map((r) => r.id).sort()).toEqual(detail.routers.map((r) => r.id).sort());
    // Security groups and their rules carry their database ids: their ids on hosts.
    expect(got.snapshot.securityGroups.map((g) => [g.id, g.rules.map((r) => r.id)])).toEqual(
      [...detail.securityGroups].sort((a, b) => (a.name < b.name ? -1 : 1)).map((g) => [g.id, g.rules.map((r) => r.id)]),
    );
    expect(got.snapshot.securityGroups.length).toBeGreaterThan(0);
    expect(got.snapshot.firewalls.map((f) => f.id).sort()).toEqual(detail.firewalls.map((f) => f.id).sort());
    // Importing a snapshot makes new rows: the ids it carries are not taken over.
    const copy = await op.farm.import({ document: { ...got.snapshot, name: 'snap-copy' }, vnids: 'auto' });
    const copied = await op.farm.get({ id: copy.id });
    expect(copied.vms.map((v) => v.id)).not.toContain(got.snapshot.vms[0]!.id);
    expect(copied.vms).toHaveLength(got.snapshot.vms.length);
  });
});

describe('large farms', () => {
  it('imports and reads back a 200-VM farm', async () => {
    const document: FarmDocumentInput = {
      version: 'softudc.farm/v1',
      name: 'big',
      vnets: Array.from({ length: 4 }, (_, i) => ({ name: `net${i}`, cidr: `10.${100 + i}.0.0/24` })),
      vms: Array.from({ length: 200 }, (_, i) => ({ name: `vm${i}`, vifs: [{ vnet: `net${i % 4}` }] })),
      routers: [{ name: 'core', interfaces: Array.from({ length: 4 }, (_, i) => ({ vnet: `net${i}` })) }],
    };
    const farm = await op.farm.import({ document: document as FarmDocument });
    const got = await op.farm.get({ id: farm.id });
    expect(got.vms).toHaveLength(200);
    const ips = got.vms.flatMap((v) => v.vifs.map((f) => f.ip));
    expect(new Set(ips).size).toBe(200);
    expect(got.routers[0]?.interfaces.map((i) => i.ip).sort()).toEqual(['10.100.0.254', '10.101.0.254', '10.102.0.254', '10.103.0.254']);
  });
});

describe('layout and revisions', () => {
  it('saves positions without bumping the revision and with one audit entry', async () => {
    const s = await sampleFarm(op, 'layout');
    const auditBefore = await api.db.auditLog.count({ where: { entityId: s.farmId } });
    const positions = { [s.web]: { x: 10, y: 20.5 }, [s.front]: { x: -3, y: 4 } };
    const saved = await op.farm.saveLayout({ farmId: s.farmId, positions });
    expect(saved.positions).toEqual(positions);
    expect(await revisionOf(s.farmId)).toBe(s.revision);
    expect((await op.farm.getLayout({ farmId: s.farmId })).positions).toEqual(positions);
    const entries = await api.db.auditLog.findMany({ where: { entityId: s.farmId }, select: { action: true }, orderBy: { id: 'asc' } });
    expect(entries.length - auditBefore).toBe(1);
    expect(entries[entries.length - 1]?.action).toBe('farm.saveLayout');
    // The document names nodes, not ids.
    expect((await op.farm.export({ id: s.farmId })).layout).toEqual({ 'vm:web': { x: 10, y: 20.5 }, 'vnet:front': { x: -3, y: 4 } });
  });

  it('snapshots revisions immutably and idempotently', async () => {
    const s = await sampleFarm(op, 'revs');
    const r1 = await op.farm.createRevision({ farmId: s.farmId });
    expect(r1.revision).toBe(s.revision);
    expect(await op.farm.createRevision({ farmId: s.farmId })).toEqual(r1);
    const doc = await op.farm.export({ id: s.farmId });
    const changed = await op.vm.update({ id: s.web, expectedRevision: s.revision, name: 'web2' });
    const r2 = await op.farm.createRevision({ farmId: s.farmId });
    expect(r2.revision).toBe(changed.farmRevision);
    const old = await op.farm.getRevision({ farmId: s.farmId, revision: r1.revision });
    expect(withoutIds(old.snapshot)).toEqual(doc);
    const now = await op.farm.getRevision({ farmId: s.farmId, revision: r2.revision });
    expect(now.snapshot.vms.map((v) => v.name)).toEqual(['app', 'web2']);
    expect((await op.farm.listRevisions({ farmId: s.farmId })).items.map((r) => r.revision)).toEqual([r1.revision, r2.revision]);
    await expectError(op.farm.getRevision({ farmId: s.farmId, revision: 999 }), 'NOT_FOUND', 'revision');
  });
});
