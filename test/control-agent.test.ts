// The agent side of the API, driven through createCaller with host actors:
// the desired-state stream, reports, deployment progress and waiting, and
// what a host credential may and may not do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrackedEnvelope } from '@trpc/server/unstable-core-do-not-import';
import { OFFLINE_AFTER_MS, sweepOfflineHosts } from '../server/control/hostLiveness.ts';
import { agentReport, buildFarm, refusedWith, setupControl, type BuiltFarm, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import { subscribe } from './subscribe.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost, h3: EnrolledHost;
let farm: BuiltFarm;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
  h3 = await f.host('h3', '127.0.0.4');
  farm = await buildFarm(f.caller(f.operator), {
    name: 'app',
    vnets: [{ name: 'n', cidr: '10.50.0.0/24' }],
    vms: [
      { name: 'a', hostId: h1.id, vnets: ['n'] },
      { name: 'b', hostId: h2.id, vnets: ['n'] },
    ],
  });
}, 60_000);
afterAll(() => f?.drop());

type Desired = { id: string; generation: number; state: { host: string; generation: number; vifs: { id: string }[] } };

/** Pulls values from a subscription with a deadline; `close()` aborts it like a client disconnect. */

const unwrapDesired = (v: unknown): Desired => {
  expect(isTrackedEnvelope(v)).toBe(true);
  const [id, data] = v as [string, { generation: number; state: Desired['state'] }];
  return { id, ...data };
};

function desiredOf(host: EnrolledHost, input: { lastGeneration?: number; lastEventId?: string } = {}) {
  return subscribe((signal) => f.caller(host.actor, signal).agent.desired(input), unwrapDesired);
}

describe('agent.desired', () => {
  it('yields a baseline state (generation 0) to a host that has none yet', async () => {
    const s = await desiredOf(h1);
    const first = await s.next();
    expect(first).toEqual({
      id: '0',
      generation: 0,
      state: { host: 'h1', generation: 0, underlay: { address: '127.0.0.2', port: 1798, multicast: null, peers: [] }, vnets: [], vifs: [], routers: [], firewalls: [], relay: null },
    });
    await s.close();
  });

  it('yields the current state first, then every new generation, always the caller own host', async () => {
    const s1 = await desiredOf(h1);
    const s2 = await desiredOf(h2);
    expect(await s1.next()).toMatchObject({ generation: 0 });
    expect(await s2.next()).toMatchObject({ generation: 0 });

    await f.caller(f.operator).farm.deploy({ id: farm.id });
    const a = (await s1.next()) as Desired;
    const b = (await s2.next()) as Desired;
    expect(a).toMatchObject({ id: '1', generation: 1, state: { host: 'h1', generation: 1 } });
    expect(a.state.vifs.map((v) => v.id)).toEqual(farm.vms.a!.vifIds);
    expect(b).toMatchObject({ generation: 1, state: { host: 'h2' } });
    expect(b.state.vifs.map((v) => v.id)).toEqual(farm.vms.b!.vifIds);

    // A change that concerns h2 only (a bandwidth limit; an address would also change the vnet resolver's answers everywhere) reaches h2's stream only.
    const op = f.caller(f.operator);
    const vm = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'b')!;
    const edit = await op.vm.update({ id: vm.id, expectedRevision: farm.revision, bandwidthMbps: 100 });
    farm.revision = edit.farmRevision;
    await op.farm.deploy({ id: farm.id });
    expect(await s2.next()).toMatchObject({ generation: 2, state: { host: 'h2' } });
    expect(await s1.next(300)).toBe('timeout');
    await s1.close();
    await s2.close();
  });

  it('yields nothing at first when the agent already has the current generation, then the next one', async () => {
    const cur = (await f.db.host.findUniqueOrThrow({ where: { id: h1.id }, select: { desiredGeneration: true } })).desiredGeneration;
    const s = await desiredOf(h1, { lastGeneration: cur });
    expect(await s.next(300)).toBe('timeout');
    const op = f.caller(f.operator);
    await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'c', hostId: h1.id, vifs: [{ vnetId: farm.vnets.n!.id }] })
      .then((r) => (farm.revision = r.farmRevision));
    await op.farm.deploy({ id: farm.id });
    expect(await s.next()).toMatchObject({ generation: cur + 1, state: { host: 'h1' } });
    await s.close();

    // On reconnect tRPC passes the last tracked id, which wins over lastGeneration.
    const r = await desiredOf(h1, { lastGeneration: 0, lastEventId: String(cur + 1) });
    expect(await r.next(300)).toBe('timeout');
    await r.close();
  });

  it('extra input naming another host changes nothing: the state is the credential own', async () => {
    const s = await subscribe(
      (signal) => f.caller(h3.actor, signal).agent.desired({ hostId: h1.id } as never),
      unwrapDesired,
    );
    expect(await s.next()).toMatchObject({ state: { host: 'h3', vifs: [] } });
    await s.close();
  });

  it('is UNAUTHORIZED for users, for a revoked host, and ends when the host is revoked', async () => {
    await refusedWith(
      (async () => (await f.caller(f.admin).agent.desired({}))[Symbol.asyncIterator]().next())(),
      'UNAUTHORIZED',
    );
    const victim = await f.host('h9', '127.0.0.9');
    const s = await desiredOf(victim);
    expect(await s.next()).toMatchObject({ generation: 0 });
    await f.caller(f.admin).host.revokeCredential({ id: victim.id });
    const err = await s.error();
    expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
    // Its actor (already authenticated) no longer gets a stream or reports.
    const again = await desiredOf(victim);
    expect(await again.error()).toMatchObject({ code: 'UNAUTHORIZED' });
    await refusedWith(f.caller(victim.actor).agent.report(agentReport(0)), 'UNAUTHORIZED');
  });
});

describe('agent.report and progress', () => {
  it('updates appliedGeneration and the deployment progress ("applied on N of M")', async () => {
    const op = f.caller(f.operator);
    const vm = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'a')!;
    const m = await op.vm.migrate({ id: vm.id, hostId: h3.id, expectedRevision: farm.revision });
    farm.revision = m.farmRevision;
    const d = m.deployment!;
    expect(d.targets.map((t) => t.host)).toEqual(['h1', 'h2', 'h3']);
    expect(m.progress).toMatchObject({ total: 3, applied: 0, complete: false });

    const watch = await subscribe((signal) => f.caller(f.viewer, signal).farm.deployProgress({ id: d.id }), (v) => v as { applied: number; total: number; complete: boolean; hosts: { host: string; applied: boolean; error: string | null }[] });
    expect(await watch.next()).toMatchObject({ applied: 0, total: 3 });

    const gen = (h: string) => d.targets.find((t) => t.host === h)!.generation;
    const r1 = await f.caller(h1.actor).agent.report(agentReport(gen('h1')));
    expect(r1).toEqual({ desiredGeneration: gen('h1') });
    expect(await watch.next()).toMatchObject({ applied: 1, total: 3 });
    const host1 = await f.db.host.findUniqueOrThrow({ where: { id: h1.id }, select: { appliedGeneration: true, status: true, agentVersion: true, lastSeenAt: true } });
    expect(host1).toMatchObject({ appliedGeneration: gen('h1'), status: 'online', agentVersion: 'test-agent/1' });

    // h2 fails to apply: progress shows its error (the text for admins), not applied.
    await f.caller(h2.actor).agent.report(agentReport(gen('h2') - 1, { generation: gen('h2'), message: 'vnet 7: port busy' }));
    const withError = await watch.next();
    expect(withError).toMatchObject({ applied: 1 });
    expect((withError as { hosts: { host: string; error: string | null }[] }).hosts.find((h) => h.host === 'h2')?.error).toBe(
      `the agent did not apply generation ${gen('h2')}; details are shown to admins only`,
    );
    expect((await f.caller(f.admin).farm.deployProgress({ id: d.id }).then((s) => s[Symbol.asyncIterator]().next())).value).toMatchObject({
      hosts: expect.arrayContaining([expect.objectContaining({ host: 'h2', error: 'vnet 7: port busy' })]),
    });

    await f.caller(h2.actor).agent.report(agentReport(gen('h2')));
    expect(await watch.next()).toMatchObject({ applied: 2 });
    await f.caller(h3.actor).agent.report(agentReport(gen('h3')));
    expect(await watch.next()).toMatchObject({ applied: 3, complete: true });
    await watch.close();

    const stored = await f.db.deployment.findUniqueOrThrow({ where: { id: d.id }, select: { completedAt: true } });
    expect(stored.completedAt).toBeInstanceOf(Date);
    // Only the latest report per host is kept.
    expect(await f.db.hostReport.count({ where: { hostId: h2.id } })).toBe(1);
  });

  it('deploy with wait returns when every target host reported, or says which are missing on timeout', async () => {
    const op = f.caller(f.operator);
    const vm = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'c')!;
    const e = await op.vm.update({ id: vm.id, expectedRevision: farm.revision, bandwidthMbps: 200 });
    farm.revision = e.farmRevision;
    // An agent that applies whatever it is told, as soon as it is told.
    const agent = await desiredOf(h1, { lastGeneration: (await f.db.host.findUniqueOrThrow({ where: { id: h1.id } })).desiredGeneration });
    const applying = (async () => {
      const d = await agent.next(10_000);
      if (d !== 'timeout') await f.caller(h1.actor).agent.report(agentReport(d.generation));
    })();
    const r = await op.farm.deploy({ id: farm.id, wait: true, timeoutMs: 10_000 });
    await applying;
    await agent.close();
    expect(r).toMatchObject({ waited: true, timedOut: false, missing: [], progress: { total: 1, applied: 1, complete: true } });
    expect(r.deployment.completedAt).toBeInstanceOf(Date);

    // Nobody applies this one.
    const vmA = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'a')!;
    const m = await op.vm.migrate({ id: vmA.id, hostId: h1.id, expectedRevision: farm.revision, wait: true, timeoutMs: 300 });
    farm.revision = m.farmRevision;
    expect(m).toMatchObject({ waited: true, timedOut: true, progress: { applied: 0, complete: false } });
    expect(m.missing.sort()).toEqual(m.deployment!.targets.map((t) => t.host).sort());

    // Later reports finish it even with nobody watching.
    const hosts = { h1, h2, h3 } as Record<string, EnrolledHost>;
    for (const t of m.deployment!.targets) await f.caller(hosts[t.host]!.actor).agent.report(agentReport(t.generation));
    const done = await f.db.deployment.findUniqueOrThrow({ where: { id: m.deployment!.id }, select: { completedAt: true } });
    expect(done.completedAt).toBeInstanceOf(Date);
  });

  it('an agent ahead of the console (restored database) is sent the console state and not counted as applied', async () => {
    const cur = (await f.db.host.findUniqueOrThrow({ where: { id: h2.id }, select: { desiredGeneration: true, appliedGeneration: true } }));
    const s = await desiredOf(h2, { lastGeneration: cur.desiredGeneration + 50 });
    expect(await s.next()).toMatchObject({ generation: cur.desiredGeneration, state: { host: 'h2' } });
    await s.close();
    await f.caller(h2.actor).agent.report(agentReport(cur.desiredGeneration + 50));
    const after = await f.db.host.findUniqueOrThrow({ where: { id: h2.id }, select: { appliedGeneration: true } });
    expect(after.appliedGeneration).toBe(cur.appliedGeneration);
    const stored = await f.db.hostReport.findUniqueOrThrow({ where: { hostId: h2.id }, select: { appliedGeneration: true } });
    expect(stored.appliedGeneration).toBe(cur.desiredGeneration + 50);
    await f.caller(h2.actor).agent.report(agentReport(cur.desiredGeneration));
  });

  it('keeps the host capabilities current from reports (root may come or go after enrollment)', async () => {
    const caps = async () => (await f.caller(f.admin).host.get({ id: h3.id })).capabilities;
    await f.caller(h3.actor).agent.report({ ...agentReport(0), capabilities: ['guest:emulated'] });
    expect(await caps()).toEqual(['guest:emulated']);
    await f.caller(h3.actor).agent.report({ ...agentReport(0), capabilities: ['guest:emulated', 'guest:tap'] });
    expect(await caps()).toEqual(['guest:emulated', 'guest:tap']);
    // An agent that does not say keeps what is known.
    await f.caller(h3.actor).agent.report(agentReport(0));
    expect(await caps()).toEqual(['guest:emulated', 'guest:tap']);
    await refusedWith(f.caller(h3.actor).agent.report({ ...agentReport(0), capabilities: ['x'.repeat(65)] }), 'BAD_REQUEST');
    expect(await caps()).toEqual(['guest:emulated', 'guest:tap']);
  });

  it('rejects malformed reports naming the field, and users or unknown hosts cannot report', async () => {
    const before = await f.db.hostReport.findUnique({ where: { hostId: h1.id } });
    const bad = await refusedWith(f.caller(h1.actor).agent.report({ ...agentReport(1), appliedGeneration: -1 }), 'BAD_REQUEST');
    expect((bad.cause as { issues?: { path: unknown[] }[] }).issues?.[0]?.path).toEqual(['appliedGeneration']);
    await refusedWith(f.caller(h1.actor).agent.report({ ...agentReport(1), health: { status: 'fine' } } as never), 'BAD_REQUEST');
    await refusedWith(f.caller(f.admin).agent.report(agentReport(1)), 'UNAUTHORIZED');
    await refusedWith(f.caller({ kind: 'host', hostId: '00000000-0000-4000-8000-000000000000', hostName: 'ghost' }).agent.report(agentReport(1)), 'UNAUTHORIZED');
    expect(await f.db.hostReport.findUnique({ where: { hostId: h1.id } })).toEqual(before);
  });
});

describe('host.report and host.reports (browsers)', () => {
  it('shows the latest report of a host, and streams reports as they arrive', async () => {
    const viewer = f.caller(f.viewer);
    const r = await viewer.host.report({ id: h2.id });
    expect(r).toMatchObject({ host: 'h2', status: 'online', report: { health: { status: 'ok' }, vifs: [], varp: [], counters: { 'frames.tx': 1 } } });
    await refusedWith(f.caller(h2.actor).host.report({ id: h2.id }), 'UNAUTHORIZED');

    const stream = await subscribe((signal) => f.caller(f.viewer, signal).host.reports({}), (v) => v as { host: string; appliedGeneration: number; report: { vifCount: number; vifs?: unknown } | null });
    const initial = new Map<string, unknown>();
    for (let i = 0; i < 4; i++) {
      const v = await stream.next();
      if (v !== 'timeout') initial.set(v.host, v);
    }
    expect([...initial.keys()].sort()).toEqual(['h1', 'h2', 'h3', 'h9']);
    const vif = (id: string, vnet: number) => ({ id, vnet, mac: '02:00:00:00:00:01', ip: '10.0.0.1/24', version: 1, guest: { kind: 'emulated' } });
    // One VIF of this tenant's (shown by its id), one that is not (even on this tenant's vnet id).
    const mine = farm.vms.a!.vifIds[0]!;
    await f.caller(h3.actor).agent.report({ ...agentReport(0), vifs: [vif(mine, farm.vnets.n!.vnid), vif('other/x/eth0', farm.vnets.n!.vnid)] });
    const next = await stream.next();
    expect(next).toMatchObject({ host: 'h3', report: { vifCount: 1 } });
    expect((await viewer.host.report({ id: h3.id })).report?.vifs?.map((v) => v.id)).toEqual([mine]);
    expect((await f.caller(f.otherOperator).host.report({ id: h3.id })).report).toMatchObject({ vifCount: 0, vifs: [] });
    expect((next as { report: { vifs?: unknown } }).report.vifs).toBeUndefined();

    // Silent for three report intervals: the sweep stores and announces offline.
    const later = new Date(Date.now() + OFFLINE_AFTER_MS + 1000);
    const swept = await sweepOfflineHosts({ db: f.db, now: later });
    expect(swept).toContain(h3.id);
    expect((await f.db.host.findUniqueOrThrow({ where: { id: h3.id }, select: { status: true } })).status).toBe('offline');
    const seen = new Set<string>();
    while (!seen.has('h3')) {
      const v = await stream.next();
      if (v === 'timeout') throw new Error('no offline update for h3');
      expect(v).toMatchObject({ status: 'offline' });
      seen.add((v as { host: string }).host);
    }
    // A new report brings it back.
    await f.caller(h3.actor).agent.report(agentReport(0));
    expect((await viewer.host.report({ id: h3.id })).status).toBe('online');
    expect(await sweepOfflineHosts({ db: f.db })).not.toContain(h3.id);
    await stream.close();
  });
});
