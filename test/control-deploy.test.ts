// Deploy, plan, undeploy and migrate through the API: what each host's
// desired state becomes, and which hosts get a new generation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState } from '../server/compile/index.ts';
import { buildFarm, controlSnapshot, refusedWith, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost, h3: EnrolledHost, h4: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
  h3 = await f.host('h3', '127.0.0.4');
  h4 = await f.host('h4', '127.0.0.5');
}, 60_000);
afterAll(() => f?.drop());

async function desired(hostId: string): Promise<{ generation: number; state: HostState } | null> {
  const row = await f.db.hostDesiredState.findUnique({ where: { hostId }, select: { generation: true, state: true } });
  return row ? { generation: row.generation, state: row.state as unknown as HostState } : null;
}

async function generations(): Promise<Record<string, number>> {
  const rows = await f.db.host.findMany({ select: { name: true, desiredGeneration: true } });
  return Object.fromEntries(rows.map((r) => [r.name, r.desiredGeneration]));
}

describe('deploy', () => {
  it('compiles deployed farms only, and gives each host its own VIFs and the peers of its vnets', async () => {
    const op = f.caller(f.operator);
    const web = await buildFarm(op, {
      name: 'web',
      vnets: [{ name: 'front', cidr: '10.7.0.0/24', vnid: 700 }],
      vms: [
        { name: 'web-1', hostId: h1.id, vnets: ['front'] },
        { name: 'web-2', hostId: h2.id, vnets: ['front'] },
      ],
    });
    // A farm that is never deployed must not reach any host.
    await buildFarm(op, {
      name: 'draft',
      vnets: [{ name: 'lab', cidr: '10.9.0.0/24', vnid: 900 }],
      vms: [{ name: 'lab-1', hostId: h3.id, vnets: ['lab'] }],
    });

    const r = await op.farm.deploy({ id: web.id });
    expect(r.deployment.kind).toBe('deploy');
    expect(r.deployment.revision).toBe(web.revision);
    expect(r.deployment.targets.map((t) => t.host).sort()).toEqual(['h1', 'h2']);
    expect(r.progress).toMatchObject({ total: 2, applied: 0, complete: false });
    expect(r.waited).toBe(false);

    const s1 = (await desired(h1.id))!;
    expect(s1.generation).toBe(1);
    expect(s1.state.host).toBe('h1');
    // Hosts know everything by database ids; the names users chose only travel beside them.
    expect(s1.state.vifs.map((v) => [v.id, v.name, v.farm])).toEqual([[web.vms['web-1']!.vifIds[0], 'web/web-1/eth0', web.id]]);
    expect(s1.state.vnets).toEqual([expect.objectContaining({ id: 700, name: 'web/front', farm: web.id, peers: ['127.0.0.3'] })]);
    expect(s1.state.underlay).toEqual({ address: '127.0.0.2', port: 1798, multicast: null, peers: ['127.0.0.3'] });
    expect((await desired(h2.id))!.state.vifs.map((v) => v.id)).toEqual(web.vms['web-2']!.vifIds);
    // h3 only has the undeployed farm: nothing stored, generation still 0.
    expect(await desired(h3.id)).toBeNull();
    expect(await generations()).toEqual({ h1: 1, h2: 1, h3: 0, h4: 0 });

    const farm = await f.db.farm.findUnique({ where: { id: web.id }, select: { deployedRevision: true } });
    expect(farm?.deployedRevision).toBe(web.revision);
    const audit = await f.db.auditLog.findFirst({ where: { action: 'farm.deploy', entityId: web.id }, select: { actorName: true } });
    expect(audit?.actorName).toBe('oscar-operator');
  });

  it('deploying an unchanged farm bumps no generation and completes at once', async () => {
    const op = f.caller(f.operator);
    const farm = (await op.farm.list({})).items.find((x) => x.name === 'web')!;
    const before = await generations();
    const r = await op.farm.deploy({ id: farm.id, wait: true, timeoutMs: 1000 });
    expect(r.deployment.targets).toEqual([]);
    expect(r.progress).toMatchObject({ total: 0, applied: 0, complete: true });
    expect(r.deployment.completedAt).toBeInstanceOf(Date);
    expect(r.timedOut).toBe(false);
    expect(await generations()).toEqual(before);
  });

  it('changing one VIF bumps only the hosts whose state changed: its own, and those whose vnet resolver answers its name', async () => {
    const op = f.caller(f.operator);
    const farm = (await op.farm.list({})).items.find((x) => x.name === 'web')!;
    const vm = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'web-1')!;
    const before = await generations();
    const r = await op.vif.update({ id: vm.vifs[0]!.id, expectedRevision: farm.revision, ip: '10.7.0.77' });
    // An edit alone changes intent, not hosts.
    expect(await generations()).toEqual(before);
    const d = await op.farm.deploy({ id: farm.id, expectedRevision: r.farmRevision });
    // h2 carries the vnet too: its resolver must answer web-1's new address. h3 and h4 stay as they were.
    expect(d.deployment.targets).toEqual([
      { hostId: h1.id, host: 'h1', generation: before.h1! + 1 },
      { hostId: h2.id, host: 'h2', generation: before.h2! + 1 },
    ]);
    expect(await generations()).toEqual({ ...before, h1: before.h1! + 1, h2: before.h2! + 1 });
    expect((await desired(h1.id))!.state.vifs[0]!.ip).toBe('10.7.0.77/24');
    expect((await desired(h2.id))!.state.vnets[0]!.dhcp?.names).toContainEqual({ name: 'web-1', ip: '10.7.0.77' });
  });

  it('refuses a stale expectedRevision with CONFLICT and writes nothing', async () => {
    const op = f.caller(f.operator);
    const farm = (await op.farm.list({})).items.find((x) => x.name === 'web')!;
    const before = await controlSnapshot(f.db);
    const e = await refusedWith(op.farm.deploy({ id: farm.id, expectedRevision: farm.revision - 1 }), 'CONFLICT');
    expect(e.message).toMatch(/^expectedRevision: /);
    expect(await controlSnapshot(f.db)).toEqual(before);
  });

  it('a viewer cannot deploy (FORBIDDEN) and tenant B cannot see tenant A farms (NOT_FOUND)', async () => {
    const farm = (await f.caller(f.operator).farm.list({})).items.find((x) => x.name === 'web')!;
    const before = await controlSnapshot(f.db);
    await refusedWith(f.caller(f.viewer).farm.deploy({ id: farm.id }), 'FORBIDDEN');
    await refusedWith(f.caller(f.viewer).farm.undeploy({ id: farm.id }), 'FORBIDDEN');
    await refusedWith(f.caller(f.otherOperator).farm.deploy({ id: farm.id }), 'NOT_FOUND');
    await refusedWith(f.caller(f.otherOperator).farm.undeploy({ id: farm.id }), 'NOT_FOUND');
    await refusedWith(f.caller(f.otherOperator).farm.plan({ id: farm.id }), 'NOT_FOUND');
    await refusedWith(f.caller(f.otherOperator).farm.deployments({ farmId: farm.id }), 'NOT_FOUND');
    expect(await controlSnapshot(f.db)).toEqual(before);
    // A viewer may read the plan and the history.
    expect((await f.caller(f.viewer).farm.deployments({ farmId: farm.id })).items.length).toBe(3);
  });
});

describe('plan', () => {
  it('returns the per-host diff of the current intent without writing anything', async () => {
    const op = f.caller(f.operator);
    const farm = (await op.farm.list({})).items.find((x) => x.name === 'web')!;
    const vnet = (await op.vnet.list({ farmId: farm.id })).items[0]!;
    const c = await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'web-3', hostId: h3.id, vifs: [{ vnetId: vnet.id }] });
    const web2 = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'web-2')!;
    await op.vm.delete({ id: web2.id, expectedRevision: c.farmRevision });

    const before = await controlSnapshot(f.db);
    const plan = await f.caller(f.viewer).farm.plan({ id: farm.id });
    expect(await controlSnapshot(f.db)).toEqual(before);

    expect(plan.revision).toBe(c.farmRevision + 1);
    const byHost = Object.fromEntries(plan.hosts.map((h) => [h.host, h]));
    expect(Object.keys(byHost).sort()).toEqual(['h1', 'h2', 'h3']);
    // h1 keeps its VIF; only its vnet's peer list changes (h2 leaves, h3 joins).
    // Items by their display names.
    expect(byHost.h1).toMatchObject({ kind: 'changed', vifs: { added: [], changed: [], removed: [] }, vnets: { changed: ['web/front'] }, underlayChanged: true });
    expect(byHost.h2).toMatchObject({ kind: 'changed', vifs: { removed: ['web/web-2/eth0'] }, vnets: { removed: ['web/front'] } });
    expect(byHost.h3).toMatchObject({ kind: 'added', vifs: { added: ['web/web-3/eth0'] }, vnets: { added: ['web/front'] } });
    expect(plan.unchangedHosts).toBe(1);

    // Planning an earlier revision: the deployed one changes nothing.
    const deployed = (await f.db.farm.findUnique({ where: { id: farm.id }, select: { deployedRevision: true } }))!;
    const same = await op.farm.plan({ id: farm.id, revision: deployed.deployedRevision! });
    expect(same.hosts).toEqual([]);
    await refusedWith(op.farm.plan({ id: farm.id, revision: 999 }), 'NOT_FOUND');
  });
});

describe('farms of two tenants', () => {
  it('share a name without touching each other on hosts, and a plan shows nothing of the other tenant', async () => {
    const b = await buildFarm(f.caller(f.otherOperator), {
      name: 'shared',
      vnets: [{ name: 'n', cidr: '10.90.0.0/24' }],
      vms: [
        { name: 'secret-b1', hostId: h1.id, vnets: ['n'] },
        { name: 'secret-b2', hostId: h4.id, vnets: ['n'] },
      ],
    });
    await f.caller(f.otherOperator).farm.deploy({ id: b.id });
    const h4Before = (await desired(h4.id))!;
    expect(h4Before.state.vifs.map((v) => v.id)).toEqual(b.vms['secret-b2']!.vifIds);

    const a = await buildFarm(f.caller(f.operator), {
      name: 'shared',
      vnets: [{ name: 'n', cidr: '10.91.0.0/24' }],
      vms: [{ name: 'a1', hostId: h1.id, vnets: ['n'] }],
    });
    const plan = await f.caller(f.operator).farm.plan({ id: a.id });
    const h1Diff = plan.hosts.find((h) => h.host === 'h1')!;
    expect(h1Diff.vifs).toEqual({ added: ['shared/a1/eth0'], changed: [], removed: [] });
    // Tenant B's hosts do not change at all, and the plan names none of B's objects.
    expect(plan.hosts.find((h) => h.host === 'h4')).toBeUndefined();
    expect(JSON.stringify(plan)).not.toMatch(/secret|tenant-b/);

    await f.caller(f.operator).farm.deploy({ id: a.id });
    expect(await desired(h4.id)).toEqual(h4Before);
    const h1Vifs = (await desired(h1.id))!.state.vifs;
    expect(h1Vifs.map((v) => v.id)).toEqual(expect.arrayContaining([...a.vms.a1!.vifIds, ...b.vms['secret-b1']!.vifIds]));
    expect(new Set(h1Vifs.map((v) => v.id)).size).toBe(h1Vifs.length);
  });
});

