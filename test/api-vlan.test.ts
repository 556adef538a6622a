// VLAN bridges of a vnet through the API: set and remove per host, checked
// input (field named, nothing stored on refusal), tenant and role scoping,
// the farm document, and deploy: only the bridging host's state carries it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState } from '../server/compile/index.ts';
import { setupApi, type ApiFixture, type Caller } from './api.ts';
import { expectError, sampleFarm, stored, type SampleFarm } from './farm-fixtures.ts';

let api: ApiFixture;
let op: Caller;
let farm: SampleFarm;
let h1: string, h2: string, h3: string;

beforeAll(async () => {
  api = await setupApi();
  op = api.caller(api.operator);
  const mk = (name: string, address: string) => api.db.host.create({ data: { name, address }, select: { id: true } }).then((h) => h.id);
  h1 = await mk('h1', '127.0.0.2');
  h2 = await mk('h2', '127.0.0.3');
  h3 = await mk('h3', '127.0.0.4');
  farm = await sampleFarm(op);
  // web (front) on h1, app (back) on h2; h3 runs nothing of the farm.
  let r = await op.vm.update({ id: farm.web, expectedRevision: farm.revision, hostId: h1 });
  r = await op.vm.update({ id: farm.app, expectedRevision: r.farmRevision, hostId: h2 });
  farm.revision = r.farmRevision;
}, 60_000);
afterAll(async () => {
  await api?.drop();
});

const vlansOf = async (vnetId: string) => (await op.vnet.get({ id: vnetId })).vlans;

describe('vnet VLAN bridges', () => {
  it('sets, replaces and lists a bridge per host, bumping the revision and auditing', async () => {
    const a = await op.vnet.setVlan({ id: farm.front, expectedRevision: farm.revision, hostId: h3, interface: 'eth1', vid: 42 });
    expect(a.farmRevision).toBe(farm.revision + 1);
    expect(a.vnet.vlans).toEqual([{ hostId: h3, hostName: 'h3', interface: 'eth1', vid: 42 }]);
    // Setting again on the same host replaces the bridge there.
    const b = await op.vnet.setVlan({ id: farm.front, expectedRevision: a.farmRevision, hostId: h3, interface: 'bond0.ext', vid: 4094 });
    const c = await op.vnet.setVlan({ id: farm.front, expectedRevision: b.farmRevision, hostId: h1, interface: 'eth2', vid: 1 });
    farm.revision = c.farmRevision;
    const want = [
      { hostId: h1, hostName: 'h1', interface: 'eth2', vid: 1 },
      { hostId: h3, hostName: 'h3', interface: 'bond0.ext', vid: 4094 },
    ];
    expect(c.vnet.vlans).toEqual(want);
    expect(await vlansOf(farm.front)).toEqual(want);
    const listed = await op.vnet.list({ farmId: farm.farmId });
    expect(listed.items.find((v) => v.id === farm.front)!.vlans).toEqual(want);
    expect(listed.items.find((v) => v.id === farm.back)!.vlans).toEqual([]);
    expect((await op.farm.get({ id: farm.farmId })).vnets.find((v) => v.id === farm.front)!.vlans).toEqual(want);
    const audit = await api.db.auditLog.findMany({ where: { entityId: farm.front, action: 'vnet.setVlan' }, select: { id: true } });
    expect(audit).toHaveLength(3);
  });

  it('refuses a bad VLAN id or interface, naming the field and storing nothing', async () => {
    const before = await stored(op, farm.farmId);
    const base = { id: farm.back, expectedRevision: farm.revision, hostId: h2 };
    for (const vid of [0, 4095, -1]) await expectError(op.vnet.setVlan({ ...base, interface: 'eth1', vid }), 'BAD_REQUEST', 'vid');
    for (const name of ['', 'this-name-is-too-long', 'eth 1', 'eth1/2']) {
      await expectError(op.vnet.setVlan({ ...base, interface: name, vid: 10 }), 'BAD_REQUEST', 'interface');
    }
    await expectError(op.vnet.setVlan({ ...base, hostId: '00000000-0000-4000-8000-000000000999', interface: 'eth1', vid: 10 }), 'NOT_FOUND', 'hostId');
    // A VLAN on a host interface carries one vnet.
    const e = await expectError(op.vnet.setVlan({ ...base, hostId: h3, interface: 'bond0.ext', vid: 4094 }), 'CONFLICT', 'vid');
    expect(e.message).toContain('front');
    await expectError(op.vnet.setVlan({ ...base, expectedRevision: farm.revision - 1, interface: 'eth1', vid: 10 }), 'CONFLICT', 'expectedRevision');
    await expectError(op.vnet.removeVlan({ id: farm.back, expectedRevision: farm.revision, hostId: h2 }), 'NOT_FOUND', 'hostId');
    expect(await stored(op, farm.farmId)).toEqual(before);
  });

  it('hides other tenants’ vnets and refuses viewers', async () => {
    const before = await stored(op, farm.farmId);
    const other = api.caller(api.otherOperator);
    await expectError(other.vnet.setVlan({ id: farm.front, expectedRevision: farm.revision, hostId: h2, interface: 'eth1', vid: 7 }), 'NOT_FOUND', 'id');
    await expectError(other.vnet.removeVlan({ id: farm.front, expectedRevision: farm.revision, hostId: h1 }), 'NOT_FOUND', 'id');
    await expectError(other.vnet.get({ id: farm.front }), 'NOT_FOUND', 'id');
    const viewer = api.caller(api.viewer);
    await expectError(viewer.vnet.setVlan({ id: farm.front, expectedRevision: farm.revision, hostId: h2, interface: 'eth1', vid: 7 }), 'FORBIDDEN', null);
    await expectError(viewer.vnet.removeVlan({ id: farm.front, expectedRevision: farm.revision, hostId: h1 }), 'FORBIDDEN', null);
    expect((await viewer.vnet.get({ id: farm.front })).vlans).toHaveLength(2);
    expect(await stored(op, farm.farmId)).toEqual(before);
  });

  it('writes the bridges into the farm document and imports them back, checked', async () => {
    const doc = await op.farm.export({ id: farm.farmId });
    const front = doc.vnets.find((v) => v.name === 'front')!;
    expect(front.vlans).toEqual([{ host: 'h1', interface: 'eth2', vid: 1 }, { host: 'h3', interface: 'bond0.ext', vid: 4094 }]);
    expect('vlans' in doc.vnets.find((v) => v.name === 'back')!).toBe(false);
    // Bridges on other VLANs import; the same VLAN on the same host interface is taken.
    const moved = {
      ...doc, name: 'shop-2',
      vnets: doc.vnets.map((v) => ({ ...v, vnid: undefined, ...(v.vlans ? { vlans: [{ host: 'h3', interface: 'eth3', vid: 5 }] } : {}) })),
    };
    const imported = await op.farm.import({ document: moved });
    const back = await op.farm.export({ id: imported.id });
    expect(back.vnets.find((v) => v.name === 'front')!.vlans).toEqual([{ host: 'h3', interface: 'eth3', vid: 5 }]);
    const clash = { ...moved, name: 'shop-3', vnets: moved.vnets.map((v) => (v.vlans ? { ...v, vlans: front.vlans } : v)) };
    const frontAt = moved.vnets.findIndex((v) => v.vlans);
    await expectError(op.farm.import({ document: clash }), 'CONFLICT', `document.vnets.${frontAt}.vlans.0.vid`);
    const badVid = { ...clash, vnets: moved.vnets.map((v) => (v.vlans ? { ...v, vlans: [{ host: 'h3', interface: 'eth9', vid: 5000 }] } : v)) };
    await expectError(op.farm.import({ document: badVid }), 'BAD_REQUEST', `document.vnets.${frontAt}.vlans.0.vid`);
    const badHost = { ...clash, vnets: moved.vnets.map((v) => (v.vlans ? { ...v, vlans: [{ host: 'nope', interface: 'eth9', vid: 9 }] } : v)) };
    await expectError(op.farm.import({ document: badHost }), 'BAD_REQUEST', `document.vnets.${frontAt}.vlans.0.host`);
    expect((await op.farm.list({})).items.map((f) => f.name).sort()).toEqual(['shop', 'shop-2']);
  });

  it('deploys the bridge to its host only; the host carries the vnet without VIFs there', async () => {
    await op.farm.deploy({ id: farm.farmId });
    const state = async (hostId: string) => {
      const row = await api.db.hostDesiredState.findUnique({ where: { hostId }, select: { state: true } });
      return row ? (row.state as unknown as HostState) : null;
    };
    const vnid = (await op.vnet.get({ id: farm.front })).vnid;
    const s1 = (await state(h1))!, s2 = (await state(h2))!, s3 = (await state(h3))!;
    expect(s3.vifs).toEqual([]);
    expect(s3.vnets.find((v) => v.id === vnid)).toMatchObject({ vlan: { interface: 'bond0.ext', vid: 4094 }, peers: expect.arrayContaining(['127.0.0.2']) });
    expect(s1.vnets.find((v) => v.id === vnid)).toMatchObject({ vlan: { interface: 'eth2', vid: 1 } });
    expect(s1.vnets.find((v) => v.id === vnid)!.peers).toContain('127.0.0.4');
    for (const v of s2.vnets) expect(v.vlan).toBeUndefined();

    // Removing a bridge and deploying again takes it off that host.
    const r = await op.vnet.removeVlan({ id: farm.front, expectedRevision: farm.revision, hostId: h3 });
    farm.revision = r.farmRevision;
    expect(r.vnet.vlans?.map((l) => l.hostName)).toEqual(['h1']);
    await op.farm.deploy({ id: farm.farmId });
    expect((await state(h3))?.vnets.find((v) => v.id === vnid)).toBeUndefined();
    expect((await state(h1))!.vnets.find((v) => v.id === vnid)!.vlan).toEqual({ interface: 'eth2', vid: 1 });
  });

  it('keeps a host holding a VLAN bridge from being deleted', async () => {
    const h4 = (await api.db.host.create({ data: { name: 'h4', address: '127.0.0.5' }, select: { id: true } })).id;
    const r = await op.vnet.setVlan({ id: farm.back, expectedRevision: farm.revision, hostId: h4, interface: 'eth1', vid: 3 });
    farm.revision = r.farmRevision;
    const e = await expectError(api.caller(api.admin).host.delete({ id: h4 }), 'CONFLICT', 'id');
    expect(e.message).toContain('vnet back (farm shop)');
    expect(await vlansOf(farm.back)).toEqual([{ hostId: h4, hostName: 'h4', interface: 'eth1', vid: 3 }]);
    const gone = await op.vnet.removeVlan({ id: farm.back, expectedRevision: farm.revision, hostId: h4 });
    farm.revision = gone.farmRevision;
    await api.caller(api.admin).host.delete({ id: h4 });
    expect(await api.db.host.count({ where: { id: h4 } })).toBe(0);
  });
});
