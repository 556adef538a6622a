// API consistency of farms: deploy and undeploy honour `expectedRevision`
// whatever revision they deploy; every procedure that makes a farm answers
// exactly what farm.get then shows; every vnet view carries its VLAN list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DHCP_DEFAULTS } from '../farms/vnetDhcp.ts';
import { controlSnapshot, setupControl, type Caller, type ControlFixture } from '../../test/control-fixture.ts';
import { expectError, sampleFarm, stored, type SampleFarm } from '../../test/farm-fixtures.ts';
import { farmDetailView, vnetView } from '../farms/farmShapes.ts';

let f: ControlFixture;
let op: Caller;

beforeAll(async () => {
  f = await setupControl();
  op = f.caller(f.operator);
}, 60_000);
afterAll(() => f?.drop());

describe('deploy, undeploy and expectedRevision', () => {
  let s: SampleFarm;
  /** The revision first deployed, to roll back to. */
  let first: number;

  beforeAll(async () => {
    s = await sampleFarm(op, 'rollback');
    first = (await op.farm.deploy({ id: s.farmId, expectedRevision: s.revision })).deployment.revision!;
    const r = await op.farm.update({ id: s.farmId, expectedRevision: s.revision, description: 'moved on' });
    s.revision = r.farmRevision;
    await op.farm.deploy({ id: s.farmId, expectedRevision: s.revision });
  });

  it('refuses a stored revision with a stale expectedRevision, and writes nothing', async () => {
    const before = { control: await controlSnapshot(f.db), farm: await stored(op, s.farmId) };
    const e = await expectError(op.farm.deploy({ id: s.farmId, revision: first, expectedRevision: s.revision - 1 }), 'CONFLICT', 'expectedRevision');
    expect(e.details).toEqual({ revision: s.revision });
    expect(e.message).toContain(`it is now at ${s.revision}`);
    // Ahead of the farm is just as stale.
    await expectError(op.farm.deploy({ id: s.farmId, revision: first, expectedRevision: s.revision + 1 }), 'CONFLICT', 'expectedRevision');
    expect({ control: await controlSnapshot(f.db), farm: await stored(op, s.farmId) }).toEqual(before);
  });

  it('rolls back to a stored revision when expectedRevision is current, leaving the intent alone', async () => {
    const intent = await stored(op, s.farmId);
    const r = await op.farm.deploy({ id: s.farmId, revision: first, expectedRevision: s.revision });
    expect(r.deployment).toMatchObject({ kind: 'deploy', revision: first });
    const after = await op.farm.get({ id: s.farmId });
    expect(after).toMatchObject({ revision: s.revision, deployedRevision: first });
    expect((await stored(op, s.farmId)).document).toEqual(intent.document);
  });

  it('refuses an undeploy with a stale expectedRevision, and takes the farm down with the current one', async () => {
    const before = await controlSnapshot(f.db);
    await expectError(op.farm.undeploy({ id: s.farmId, expectedRevision: s.revision - 1 }), 'CONFLICT', 'expectedRevision');
    expect(await controlSnapshot(f.db)).toEqual(before);
    const r = await op.farm.undeploy({ id: s.farmId, expectedRevision: s.revision });
    expect(r.deployment.kind).toBe('undeploy');
    expect((await op.farm.get({ id: s.farmId })).deployedRevision).toBeNull();
    // Without expectedRevision both stay as they were: no check.
    await op.farm.deploy({ id: s.farmId, revision: first });
    await op.farm.undeploy({ id: s.farmId });
  });

  it('plans a stored revision without writing anything', async () => {
    const before = await controlSnapshot(f.db);
    const plan = await op.farm.plan({ id: s.farmId, revision: first });
    expect(plan).toMatchObject({ revision: first, deployedRevision: null, errors: [], hostChecks: [] });
    expect(await controlSnapshot(f.db)).toEqual(before);
  });
});

describe('procedures that make a farm answer what farm.get shows', () => {
  it('farm.create', async () => {
    const made = await op.farm.create({ name: 'fresh', description: 'new' });
    expect(made).toEqual(await op.farm.get({ id: made.id }));
    expect(made).toMatchObject({ revision: 1, deployedRevision: null, counts: { vnets: 0, vms: 0, routers: 0, firewalls: 0 }, vnets: [], vms: [] });
    expect(farmDetailView.parse(made)).toEqual(made);
  });

  it('farm.import and farm.clone: the summary farm.list and farm.get show', async () => {
    const s = await sampleFarm(op, 'source');
    const document = await op.farm.export({ id: s.farmId });
    const summaryOf = async (id: string) => {
      const { vnets: _v, vms, routers: _r, routerLinks: _l, firewalls: _f, securityGroupMode: _m, securityGroups: _g, ...summary } = await op.farm.get({ id });
      return { summary, vms: vms.map((v) => v.name).sort() };
    };
    const imported = await op.farm.import({ document, name: 'imported', vnids: 'auto' });
    const got = await summaryOf(imported.id);
    expect(imported).toEqual(got.summary);
    expect(imported.counts).toEqual({ vnets: 2, vms: 2, routers: 1, firewalls: 1 });
    expect(got.vms).toEqual(['app', 'web']);
    const cloned = await op.farm.clone({ id: s.farmId, name: 'cloned' });
    expect(cloned).toEqual((await summaryOf(cloned.id)).summary);
    expect(cloned.counts).toEqual(imported.counts);
  });

  it('farm.get and farm.list agree on the summary', async () => {
    const s = await sampleFarm(op, 'counted');
    const { vnets: _v, vms: _m, routers: _r, routerLinks: _l, firewalls: _f, securityGroupMode: _sm, securityGroups: _g, ...summary } = await op.farm.get({ id: s.farmId });
    const listed = (await op.farm.list({ limit: 200 })).items.find((x) => x.id === s.farmId);
    expect(listed).toEqual(summary);
  });
});

describe('vnet views', () => {
  it('always carry vlans, empty or not, from every procedure', async () => {
    const farm = await op.farm.create({ name: 'vlans' });
    const host = await f.host('vlan-h1', '127.0.0.71');
    const c = await op.vnet.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'lan', cidr: '10.50.0.0/24' });
    expect(c.vnet.vlans).toEqual([]);
    const u = await op.vnet.update({ id: c.vnet.id, expectedRevision: c.farmRevision, mtu: 1500 });
    expect(u.vnet.vlans).toEqual([]);
    const set = await op.vnet.setVlan({ id: c.vnet.id, expectedRevision: u.farmRevision, hostId: host.id, interface: 'eth1', vid: 7 });
    const want = [{ hostId: host.id, hostName: 'vlan-h1', interface: 'eth1', vid: 7 }];
    expect(set.vnet.vlans).toEqual(want);
    expect((await op.vnet.get({ id: c.vnet.id })).vlans).toEqual(want);
    expect((await op.vnet.list({ farmId: farm.id })).items[0]!.vlans).toEqual(want);
    expect((await op.farm.get({ id: farm.id })).vnets[0]!.vlans).toEqual(want);
    const removed = await op.vnet.removeVlan({ id: c.vnet.id, expectedRevision: set.farmRevision, hostId: host.id });
    expect(removed.vnet.vlans).toEqual([]);
  });

  it('the schema requires the list', () => {
    const t = new Date();
    const v = { id: 'a', farmId: 'b', vnid: 100, name: 'n', cidr: '10.0.0.0/24', mtu: 1400, security: 'none', dhcp: DHCP_DEFAULTS, createdAt: t, updatedAt: t };
    expect(vnetView.safeParse(v).success).toBe(false);
    expect(vnetView.safeParse({ ...v, vlans: [] }).success).toBe(true);
  });
});
