// Undeploy, migrate, and concurrent deploys: hosts end up with exactly the
// state the deployed farms call for, and generations only ever go up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState } from '../server/compile/index.ts';
import { openDatabase } from '../server/db/index.ts';
import type { ConsoleEvent } from '../server/events/index.ts';
import { refreshDesiredStates } from '../server/control/desiredState.ts';
import { buildFarm, callerOn, controlSnapshot, refusedWith, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost, h3: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
  h3 = await f.host('h3', '127.0.0.4');
}, 60_000);
afterAll(() => f?.drop());

async function state(hostId: string): Promise<{ generation: number; state: HostState }> {
  const row = await f.db.hostDesiredState.findUniqueOrThrow({ where: { hostId }, select: { generation: true, state: true } });
  return { generation: row.generation, state: row.state as unknown as HostState };
}

describe('undeploy', () => {
  it('gives the farm hosts an empty state (a new generation), not a stale one', async () => {
    const op = f.caller(f.operator);
    const farm = await buildFarm(op, {
      name: 'short-lived',
      vnets: [{ name: 'n', cidr: '10.20.0.0/24' }],
      vms: [
        { name: 'a', hostId: h1.id, vnets: ['n'] },
        { name: 'b', hostId: h2.id, vnets: ['n'] },
      ],
    });
    await op.farm.deploy({ id: farm.id });
    const g1 = (await state(h1.id)).generation;
    const g2 = (await state(h2.id)).generation;

    const r = await op.farm.undeploy({ id: farm.id });
    expect(r.deployment).toMatchObject({ kind: 'undeploy', revision: farm.revision });
    expect(r.deployment.targets.map((t) => [t.host, t.generation])).toEqual([['h1', g1 + 1], ['h2', g2 + 1]]);
    for (const h of [h1, h2]) {
      const s = await state(h.id);
      expect(s.state).toMatchObject({ host: h.name, vnets: [], vifs: [], routers: [], firewalls: [] });
      expect(s.state.underlay).toEqual({ address: h.address, port: 1798, multicast: null, peers: [] });
    }
    expect((await f.db.farm.findUniqueOrThrow({ where: { id: farm.id }, select: { deployedRevision: true } })).deployedRevision).toBeNull();

    // Undeploying again is refused and changes nothing.
    const before = await controlSnapshot(f.db);
    const e = await refusedWith(op.farm.undeploy({ id: farm.id }), 'CONFLICT');
    expect(e.message).toMatch(/^id: farm short-lived is not deployed/);
    expect(await controlSnapshot(f.db)).toEqual(before);
    await op.farm.delete({ id: farm.id, expectedRevision: farm.revision });
  });
});

describe('migrate', () => {
  it('bumps the location version and moves the VIF from the old host state to the new one', async () => {
    const op = f.caller(f.operator);
    const farm = await buildFarm(op, {
      name: 'mover',
      vnets: [{ name: 'n', cidr: '10.30.0.0/24' }],
      vms: [
        { name: 'vm1', hostId: h1.id, vnets: ['n'] },
        { name: 'anchor', hostId: h2.id, vnets: ['n'] },
      ],
    });
    await op.farm.deploy({ id: farm.id });
    // Hosts know the VIF by its database id.
    const vifId = farm.vms.vm1!.vifIds[0]!;
    const before1 = await state(h1.id);
    expect(before1.state.vifs.find((v) => v.id === vifId)?.version).toBe(1);
    const gens = { h1: before1.generation, h2: (await state(h2.id)).generation, h3: (await f.db.host.findUniqueOrThrow({ where: { id: h3.id } })).desiredGeneration };

    const m = await op.vm.migrate({ id: farm.vms.vm1!.id, hostId: h3.id, expectedRevision: farm.revision });
    expect(m.vm).toMatchObject({ hostId: h3.id, hostName: 'h3', locationVersion: 2 });
    expect(m.farmRevision).toBe(farm.revision + 1);
    expect(m.deployment).toMatchObject({ kind: 'migrate', revision: farm.revision + 1 });
    // h1 loses the VIF, h3 gains it, h2 sees its vnet peer change: all three get a new generation.
    expect(m.deployment!.targets.map((t) => [t.host, t.generation])).toEqual([
      ['h1', gens.h1 + 1],
      ['h2', gens.h2 + 1],
      ['h3', gens.h3 + 1],
    ]);
    expect((await state(h1.id)).state.vifs.map((v) => v.id)).not.toContain(vifId);
    expect((await state(h3.id)).state.vifs).toEqual([expect.objectContaining({ id: vifId, version: 2, ip: '10.30.0.1/24' })]);
    expect((await state(h2.id)).state.vnets[0]!.peers).toEqual(['127.0.0.4']);
    const audit = await f.db.auditLog.findFirst({ where: { action: 'vm.migrate', entityId: farm.vms.vm1!.id }, select: { id: true } });
    expect(audit).not.toBeNull();

    // Moving it to where it already is: refused, nothing written.
    const snap = await controlSnapshot(f.db);
    const e = await refusedWith(op.vm.migrate({ id: farm.vms.vm1!.id, hostId: h3.id, expectedRevision: m.farmRevision }), 'BAD_REQUEST');
    expect(e.message).toMatch(/^hostId: /);
    expect(await controlSnapshot(f.db)).toEqual(snap);
    await refusedWith(f.caller(f.viewer).vm.migrate({ id: farm.vms.vm1!.id, hostId: h1.id, expectedRevision: m.farmRevision }), 'FORBIDDEN');
    await refusedWith(f.caller(f.otherOperator).vm.migrate({ id: farm.vms.vm1!.id, hostId: h1.id, expectedRevision: m.farmRevision }), 'NOT_FOUND');
    expect(await controlSnapshot(f.db)).toEqual(snap);
  });

  it('a placement edit that is not deployed yet does not change the version hosts run', async () => {
    const op = f.caller(f.operator);
    const farm = (await op.farm.list({})).items.find((x) => x.name === 'mover')!;
    const vm = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'anchor')!;
    // Intent moves anchor h2 -> h1 -> h2 (version 3), then another farm's deploy recomputes everything.
    const a = await op.vm.update({ id: vm.id, expectedRevision: farm.revision, hostId: h1.id });
    await op.vm.update({ id: vm.id, expectedRevision: a.farmRevision, hostId: h2.id });
    const other = await buildFarm(op, { name: 'bystander', vnets: [{ name: 'x', cidr: '10.31.0.0/24' }], vms: [{ name: 'x1', hostId: h1.id, vnets: ['x'] }] });
    const before = await state(h2.id);
    await op.farm.deploy({ id: other.id });
    const after = await state(h2.id);
    expect(after.generation).toBe(before.generation);
    expect(after.state.vifs.find((v) => v.id === vm.vifs[0]!.id)?.version).toBe(1);
  });

  it('migrating a VM of an undeployed farm changes the placement only', async () => {
    const op = f.caller(f.operator);
    const farm = await buildFarm(op, { name: 'idle', vnets: [{ name: 'n', cidr: '10.32.0.0/24' }], vms: [{ name: 'v', hostId: h1.id, vnets: ['n'] }] });
    const before = await f.db.host.findMany({ select: { id: true, desiredGeneration: true }, orderBy: { id: 'asc' } });
    const m = await op.vm.migrate({ id: farm.vms.v!.id, hostId: h2.id, expectedRevision: farm.revision });
    expect(m.deployment).toBeNull();
    expect(m.vm.locationVersion).toBe(2);
    expect(await f.db.host.findMany({ select: { id: true, desiredGeneration: true }, orderBy: { id: 'asc' } })).toEqual(before);
  });
});

describe('plan and deploy', () => {
  it('a plan writes nothing, no key either: a sealed vnet gets its key from the deploy', async () => {
    const op = f.caller(f.operator);
    const farm = await buildFarm(op, {
      name: 'sealed',
      vnets: [{ name: 's', cidr: '10.33.0.0/24', security: 'auth' }],
      vms: [
        { name: 'a', hostId: h1.id, vnets: ['s'] },
        { name: 'b', hostId: h2.id, vnets: ['s'] },
      ],
    });
    const keys = () => f.db.vnetKey.count({ where: { vnet: { farmId: farm.id } } });
    const before = await controlSnapshot(f.db);
    const plan = await op.farm.plan({ id: farm.id });
    expect(plan.hosts.filter((h) => h.vifs.added.length > 0).map((h) => h.host)).toEqual(['h1', 'h2']);
    expect(await controlSnapshot(f.db)).toEqual(before);
    expect(await keys()).toBe(0);

    await op.farm.deploy({ id: farm.id });
    expect(await keys()).toBe(1);
    const vnet = (await state(h1.id)).state.vnets.find((v) => v.farm === farm.id);
    expect(vnet?.keys).toHaveLength(1);
    await op.farm.undeploy({ id: farm.id });
  });
});

describe('location versions', () => {
  it('are stored by the deploy that gives them, and a rollback to an earlier host counts up', async () => {
    const op = f.caller(f.operator);
    const farm = await buildFarm(op, {
      name: 'roller',
      vnets: [{ name: 'n', cidr: '10.34.0.0/24' }],
      vms: [
        { name: 'r', hostId: h1.id, vnets: ['n'] },
        { name: 'peer', hostId: h2.id, vnets: ['n'] },
      ],
    });
    const vmId = farm.vms.r!.id;
    const vifId = farm.vms.r!.vifIds[0]!;
    const location = () => f.db.vmLocation.findUnique({ where: { vmId }, select: { hostId: true, version: true } });
    const version = async (hostId: string) => (await state(hostId)).state.vifs.find((v) => v.id === vifId)?.version;

    await op.farm.deploy({ id: farm.id });
    expect(await location()).toEqual({ hostId: h1.id, version: 1 });
    expect(await version(h1.id)).toBe(1);

    await op.vm.migrate({ id: vmId, hostId: h3.id, expectedRevision: farm.revision });
    expect(await location()).toEqual({ hostId: h3.id, version: 2 });
    expect(await version(h3.id)).toBe(2);

    // Back to the first revision: the VM returns to h1 with a version above every one it had.
    await op.farm.deploy({ id: farm.id, revision: farm.revision });
    expect(await location()).toEqual({ hostId: h1.id, version: 3 });
    expect(await version(h1.id)).toBe(3);
    // A deploy that does not move it keeps its version.
    await op.farm.deploy({ id: farm.id, revision: farm.revision });
    expect(await location()).toEqual({ hostId: h1.id, version: 3 });
    await op.farm.undeploy({ id: farm.id });
  });
});

describe('concurrent deploys', () => {
  it('keep every host generation unique and increasing, also across console processes', async () => {
    const op = f.caller(f.operator);
    const farms = [];
    for (let i = 0; i < 6; i++) {
      farms.push(
        await buildFarm(op, {
          name: `c${i}`,
          vnets: [{ name: 'n', cidr: `10.${40 + i}.0.0/24` }],
          vms: [
            { name: 'p', hostId: h1.id, vnets: ['n'] },
            { name: 'q', hostId: i % 2 ? h2.id : h3.id, vnets: ['n'] },
          ],
        }),
      );
    }
    const seen: ConsoleEvent[] = [];
    const unsubscribe = f.bus.subscribe((e) => e.type === 'host.desired' && seen.push(e));
    // A second console process: its own pool on the same Postgres database.
    const second = f.t.url ? await openDatabase({ databaseUrl: f.t.url, migrate: false, poolSize: 4 }) : null;
    const start = await f.db.host.findMany({ select: { id: true, desiredGeneration: true } });
    try {
      const other = second ? callerOn(second.prisma, f.operator) : op;
      const results = await Promise.all(farms.map((farm, i) => (i % 2 ? other : op).farm.deploy({ id: farm.id })));
      const byHost = new Map<string, number[]>();
      for (const r of results) for (const t of r.deployment.targets) byHost.set(t.hostId, [...(byHost.get(t.hostId) ?? []), t.generation]);
      for (const { id, desiredGeneration: g0 } of start) {
        const gens = (byHost.get(id) ?? []).sort((a, b) => a - b);
        // Every deploy that touched the host got its own generation: g0+1, g0+2, ... with no gap or repeat.
        expect(gens).toEqual(gens.map((_, k) => g0 + k + 1));
        const now = await f.db.host.findUniqueOrThrow({ where: { id }, select: { desiredGeneration: true } });
        expect(now.desiredGeneration).toBe(g0 + gens.length);
      }
      expect(byHost.get(h1.id)?.length).toBe(6);
      await new Promise((r) => setTimeout(r, 200));
      // Notifications arrive in commit order, which is generation order for every host.
      for (const id of [h1.id, h2.id, h3.id]) {
        const gens = seen.filter((e) => e.type === 'host.desired' && e.hostId === id).map((e) => (e as { generation: number }).generation);
        expect(gens).toEqual([...gens].sort((a, b) => a - b));
        expect(new Set(gens).size).toBe(gens.length);
      }
    } finally {
      unsubscribe();
      await second?.close();
    }
  }, 60_000);
});

describe('refreshDesiredStates', () => {
  it('follows a host address change at once: that host and its peers get new states, nobody else', async () => {
    const op = f.caller(f.operator);
    const h5 = await f.host('h5', '127.0.0.6');
    const farm = await buildFarm(op, {
      name: 'readdress',
      vnets: [{ name: 'n', cidr: '10.70.0.0/24' }],
      vms: [
        { name: 'a', hostId: h5.id, vnets: ['n'] },
        { name: 'b', hostId: h2.id, vnets: ['n'] },
      ],
    });
    await op.farm.deploy({ id: farm.id });
    const before = Object.fromEntries((await f.db.host.findMany({ select: { name: true, desiredGeneration: true } })).map((h) => [h.name, h.desiredGeneration]));
    // host.update recomputes the desired states in its own transaction.
    await f.caller(f.admin).host.update({ id: h5.id, address: '127.0.0.7' });
    expect((await state(h5.id)).state.underlay.address).toBe('127.0.0.7');
    expect((await state(h2.id)).state.vnets.find((v) => v.farm === farm.id)?.peers).toEqual(['127.0.0.7']);
    const after = Object.fromEntries((await f.db.host.findMany({ select: { name: true, desiredGeneration: true } })).map((h) => [h.name, h.desiredGeneration]));
    expect(after).toEqual({ ...before, h2: before.h2! + 1, h5: before.h5! + 1 });
    // Nothing changed since: a second refresh is a no-op.
    expect((await refreshDesiredStates({ db: f.db })).changed).toEqual([]);
  });
});

