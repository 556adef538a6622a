// vm.migrate live: through the API, what the source and destination hosts'
// desired states become as a live migration starts, is finished by the
// destination's report, or is cancelled; and the refusals (not a TAP VM,
// already moving, same host, a host not enrolled, another tenant's VM, bad
// input), each by its field and writing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import type { HostState } from '../server/compile/index.ts';
import { finishLiveMoves, RETRY_MIN_MS } from '../server/control/liveMigration.ts';
import { serveLeanReport } from '../server/serve/leanReport.ts';
import { agentReport, controlSnapshot, refusedWith, setupControl, type Caller, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost, h3: EnrolledHost;
let pendingHostId: string;
let op: Caller;
const farm = { id: '', revision: 0, vnetId: '' };

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
  h3 = await f.host('h3', '127.0.0.4');
  pendingHostId = (await f.caller(f.admin).host.create({ name: 'never-enrolled', address: '127.0.0.9' })).host.id;
  op = f.caller(f.operator);
  const created = await op.farm.create({ name: 'live' });
  const vnet = await op.vnet.create({ farmId: created.id, expectedRevision: created.revision, name: 'front', cidr: '10.71.0.0/24' });
  Object.assign(farm, { id: created.id, revision: vnet.farmRevision, vnetId: vnet.vnet.id });
}, 60_000);
afterAll(() => f?.drop());

async function vmOn(name: string, hostId: string, guestKind: 'tap' | 'emulated' = 'tap') {
  const r = await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name, hostId, guestKind, vifs: [{ vnetId: farm.vnetId }] });
  farm.revision = r.farmRevision;
  const d = await op.farm.deploy({ id: farm.id, expectedRevision: farm.revision });
  expect(d.deployment.kind).toBe('deploy');
  return r.vm;
}

async function stateOf(hostId: string): Promise<HostState> {
  const row = await f.db.hostDesiredState.findUnique({ where: { hostId }, select: { state: true } });
  return (row?.state ?? { vifs: [] }) as unknown as HostState;
}
const vifsOf = async (hostId: string, vifId: string) => (await stateOf(hostId)).vifs.filter((v) => v.id === vifId);

/** What a report may change, and the VMs (their moves and failures). */
const stateNow = async () => ({ control: await controlSnapshot(f.db), vms: await f.db.vm.findMany({ orderBy: { id: 'asc' } }) });

/** The report of host `h`, applied up to date, with `vif` active by live migration. */
async function arrivedReport(h: EnrolledHost, vif: { id: string; mac: string; ip: string }, dst: { version: number; vnet: number }) {
  const gen = (await f.db.host.findUniqueOrThrow({ where: { id: h.id }, select: { desiredGeneration: true } })).desiredGeneration;
  return f.caller(h.actor).agent.report(activeReport(gen, vif, dst.version, dst.vnet));
}

/** The destination agent's report: the VIF active by live migration. */
function activeReport(generation: number, vif: { id: string; mac: string; ip: string }, version: number, vnid: number) {
  return {
    ...agentReport(generation),
    vifs: [{ id: vif.id, vnet: vnid, mac: vif.mac, ip: vif.ip, version, guest: { kind: 'tap' }, migration: { state: 'active' as const, activatedAt: Date.now() } }],
  };
}

/** A TAP VM on h1, deployed, in a live move to `hostId`. */
async function movingVm(name: string, hostId: string) {
  const vm = await vmOn(name, h1.id);
  await op.vm.migrate({ id: vm.id, hostId, expectedRevision: farm.revision, live: true });
  return { vm, vif: vm.vifs[0]! };
}

/** The source agent's report: the VIF let go on another host's announcement of `movedTo` (inactive here). */
async function letGoReport(h: EnrolledHost, vif: { id: string; mac: string; ip: string; vnet: number; version: number }, movedTo: number) {
  const gen = (await f.db.host.findUniqueOrThrow({ where: { id: h.id }, select: { desiredGeneration: true } })).desiredGeneration;
  return f.caller(h.actor).agent.report({
    ...agentReport(gen),
    vifs: [{ id: vif.id, vnet: vif.vnet, mac: vif.mac, ip: vif.ip, version: vif.version, guest: { kind: 'tap' }, movedTo }],
  });
}

describe('vm.migrate live', () => {
  it('starts: the source keeps the VIF outgoing, the destination gets it incoming with the next location version; the report of its arrival finishes the move', async () => {
    const vm = await vmOn('web-1', h1.id);
    const vifId = vm.vifs[0]!.id;
    const [before] = await vifsOf(h1.id, vifId);
    expect(before).toBeDefined();
    expect(before!.incoming).toBeUndefined();
    expect(before!.outgoing).toBeUndefined();

    const m = await op.vm.migrate({ id: vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true });
    expect(m.vm).toMatchObject({ hostId: h1.id, migratingToHostId: h2.id });
    expect(m.vm.migrationStartedAt).toBeInstanceOf(Date);
    expect(m.deployment!.kind).toBe('migrate');
    expect(m.deployment!.targets.map((t) => t.host).sort()).toEqual(['h1', 'h2']);
    // The intent is not edited: the farm's revision stays.
    expect(m.farmRevision).toBe(farm.revision);

    const [src] = await vifsOf(h1.id, vifId);
    const [dst] = await vifsOf(h2.id, vifId);
    expect(src).toMatchObject({ version: before!.version });
    expect(src!.incoming).toBeUndefined();
    // Only while the move is pending may the source let its VIF go on the destination's ANNOUNCE.
    expect(src!.outgoing).toBe(true);
    expect(dst!.outgoing).toBeUndefined();
    expect(dst).toMatchObject({ incoming: true, mac: before!.mac, ip: before!.ip, guest: before!.guest });
    expect(dst!.version).toBe(before!.version + 1);
    // The VM's view shows the move, by vm.get and by farm.get.
    expect(await op.vm.get({ id: vm.id })).toMatchObject({ hostId: h1.id, migratingToHostId: h2.id });
    const viewed = (await op.farm.get({ id: farm.id })).vms.find((v) => v.id === vm.id);
    expect(viewed).toMatchObject({ migratingToHostId: h2.id });

    // A report without the VIF active changes nothing; one with it active finishes the move.
    const gen2 = (await f.db.host.findUniqueOrThrow({ where: { id: h2.id }, select: { desiredGeneration: true } })).desiredGeneration;
    await f.caller(h2.actor).agent.report(agentReport(gen2));
    expect((await op.vm.get({ id: vm.id })).hostId).toBe(h1.id);
    const vnid = (await stateOf(h2.id)).vifs.find((v) => v.id === vifId)!.vnet;
    await f.caller(h2.actor).agent.report(activeReport(gen2, { id: vifId, mac: dst!.mac, ip: dst!.ip }, dst!.version, vnid));

    const done = await op.vm.get({ id: vm.id });
    expect(done).toMatchObject({ hostId: h2.id, migratingToHostId: null, migrationStartedAt: null });
    expect(await vifsOf(h1.id, vifId)).toEqual([]);
    const [after] = await vifsOf(h2.id, vifId);
    // The same version the destination held from the start: nothing to announce again.
    expect(after).toMatchObject({ version: dst!.version });
    expect(after!.incoming).toBeUndefined();
    expect(after!.outgoing).toBeUndefined();
    const audit = await f.db.auditLog.findFirst({ where: { action: 'vm.migrate.finish', entityId: vm.id }, select: { actorName: true } });
    expect(audit?.actorName).toBe('oscar-operator');
    farm.revision = (await op.farm.get({ id: farm.id })).revision;

    // Reported again (agents report every few seconds): nothing more happens.
    const snap = await controlSnapshot(f.db);
    await f.caller(h2.actor).agent.report(activeReport(gen2, { id: vifId, mac: dst!.mac, ip: dst!.ip }, dst!.version, vnid));
    expect(await controlSnapshot(f.db)).toEqual(snap);
  });

  it('the lean report path (agents POSTing agent.report) finishes the move too', async () => {
    const vm = await vmOn('web-5', h1.id);
    const vif = vm.vifs[0]!;
    await op.vm.migrate({ id: vm.id, hostId: h3.id, expectedRevision: farm.revision, live: true });
    const [dst] = await vifsOf(h3.id, vif.id);
    const body = Buffer.from(JSON.stringify(superjson.serialize(activeReport(0, { id: vif.id, mac: vif.mac, ip: vif.ip }, dst!.version, dst!.vnet))));
    const answer = await serveLeanReport(h3.credential, body, { prisma: f.db, raw: f.t.raw });
    expect(answer?.status).toBe(200);
    expect(await op.vm.get({ id: vm.id })).toMatchObject({ hostId: h3.id, migratingToHostId: null });
    expect(await vifsOf(h1.id, vif.id)).toEqual([]);
    farm.revision = (await op.farm.get({ id: farm.id })).revision;
  });

  it('a move started by a user disabled, demoted, moved to another tenant or deleted since is not finished in their name: the failure is shown and not tried again; an operator takes it over', async () => {
    const starterFor = async (name: string) => {
      const u = await f.db.user.create({ data: { tenantId: f.tenantA, username: name, role: 'operator', passwordHash: 'x' }, select: { id: true } });
      return { kind: 'user' as const, userId: u.id, tenantId: f.tenantA, username: name, role: 'operator' as const };
    };
    const cases: [string, (userId: string) => Promise<unknown>, RegExp][] = [
      ['disabled', (id) => f.db.user.update({ where: { id }, data: { disabled: true } }), /is disabled/],
      ['demoted', (id) => f.db.user.update({ where: { id }, data: { role: 'viewer' } }), /no longer an operator/],
      ['moved', (id) => f.db.user.update({ where: { id }, data: { tenantId: f.tenantB } }), /no longer in the farm's tenant/],
      ['deleted', (id) => f.db.user.delete({ where: { id } }), /no longer exists/],
    ];
    for (const [what, change, why] of cases) {
      const starter = await starterFor(`starter-${what}`);
      const vm = await vmOn(`web-6-${what}`, h1.id);
      const vif = vm.vifs[0]!;
      await f.caller(starter).vm.migrate({ id: vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true });
      const [dst] = await vifsOf(h2.id, vif.id);
      const [src] = await vifsOf(h1.id, vif.id);
      const report = () => arrivedReport(h2, vif, dst!);
      await change(starter.userId);
      const deployments = await f.db.deployment.count();
      await report();
      const stuck = await op.vm.get({ id: vm.id });
      expect(stuck).toMatchObject({ hostId: h1.id, migratingToHostId: h2.id, migrationRetryAt: null });
      expect(stuck.migrationError).toMatch(why);
      expect(stuck.migrationError).toMatch(/vm\.retryMigration/);
      expect(stuck.migrationErrorAt).toBeInstanceOf(Date);
      expect(await f.db.deployment.count()).toBe(deployments);
      // The hosts keep the move as the console shows it: outgoing at the source, incoming at the destination.
      expect((await vifsOf(h1.id, vif.id))[0]).toEqual(src);
      expect((await vifsOf(h2.id, vif.id))[0]).toEqual(dst);
      // Not tried again on the next reports: nothing changes, not even the failure's time.
      const snap = await stateNow();
      await report();
      await report();
      expect(await stateNow()).toEqual(snap);
      expect((await f.db.vm.findUniqueOrThrow({ where: { id: vm.id }, select: { migrationFailures: true } })).migrationFailures).toBe(1);
      // An operator of the farm takes it over: finished at once in their name, the destination having reported the VM there.
      const r = await op.vm.retryMigration({ id: vm.id });
      expect(r.vm).toMatchObject({ hostId: h2.id, migratingToHostId: null, migrationError: null, migrationRetryAt: null });
      expect(await vifsOf(h1.id, vif.id)).toEqual([]);
      const after = await vifsOf(h2.id, vif.id);
      expect(after[0]!.incoming).toBeUndefined();
      const audit = await f.db.auditLog.findFirst({ where: { action: 'vm.migrate.finish', entityId: vm.id }, select: { actorName: true } });
      expect(audit?.actorName).toBe('oscar-operator');
      farm.revision = (await op.farm.get({ id: farm.id })).revision;
    }
  });

  it('a destination that can no longer run TAP guests: the failure is shown and not tried again; a cancel is refused (the VM runs there); once fixed, a retry finishes it', async () => {
    const vm = await vmOn('web-7', h1.id);
    const vif = vm.vifs[0]!;
    await op.vm.migrate({ id: vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true });
    const [dst] = await vifsOf(h2.id, vif.id);
    const report = () => arrivedReport(h2, vif, dst!);
    await f.db.host.update({ where: { id: h2.id }, data: { capabilities: ['guest:emulated'] } });
    try {
      await report();
      const stuck = await op.vm.get({ id: vm.id });
      expect(stuck).toMatchObject({ hostId: h1.id, migratingToHostId: h2.id, migrationRetryAt: null });
      expect(stuck.migrationError).toMatch(/h2/);
      expect(stuck.migrationError).toMatch(/tap/);
      // The next reports try nothing: no second failure, no new deployment.
      const snap = await stateNow();
      await report();
      expect(await stateNow()).toEqual(snap);
      // The VM runs on the destination: cancelling would leave it without a network there.
      const e = await refusedWith(op.vm.cancelMigration({ id: vm.id }), 'CONFLICT');
      expect(e.message).toMatch(/already runs on host h2/);
      expect(e.message).toMatch(/vm\.retryMigration/);
      expect(await stateNow()).toEqual(snap);
      // Retried while the cause lasts: the failure again, still stopped.
      const again = await op.vm.retryMigration({ id: vm.id });
      expect(again.vm).toMatchObject({ migratingToHostId: h2.id, migrationRetryAt: null });
      expect(again.vm.migrationError).toMatch(/tap/);
    } finally {
      await f.db.host.update({ where: { id: h2.id }, data: { capabilities: ['guest:tap', 'guest:emulated'] } });
    }
    const done = await op.vm.retryMigration({ id: vm.id });
    expect(done.vm).toMatchObject({ hostId: h2.id, migratingToHostId: null, migrationError: null });
    farm.revision = (await op.farm.get({ id: farm.id })).revision;
  });

  it('a cancel is refused once the source reported that it let the VIF go, before the destination\'s own report arrived: the VM runs there', async () => {
    const { vm, vif } = await movingVm('web-12', h2.id);
    const [src] = await vifsOf(h1.id, vif.id);
    const [dst] = await vifsOf(h2.id, vif.id);
    // h1 heard h2 announce the VM with the destination's version and let its VIF go; h2's report is not in.
    await letGoReport(h1, src!, dst!.version);
    const snap = await stateNow();
    const e = await refusedWith(op.vm.cancelMigration({ id: vm.id }), 'CONFLICT');
    expect(e.message).toMatch(/already runs on host h2: host h1 reported .* that it let the VM's VIF go/);
    expect(e.message).toMatch(new RegExp(`location version ${dst!.version}`));
    expect(e.message).toMatch(/live-migrate it again once the move is finished/);
    expect(await stateNow()).toEqual(snap);
    // The destination's report, when it comes, finishes the move as usual.
    await arrivedReport(h2, vif, dst!);
    expect(await op.vm.get({ id: vm.id })).toMatchObject({ hostId: h2.id, migratingToHostId: null });
    farm.revision = (await op.farm.get({ id: farm.id })).revision;
  });

  it('a VIF the source let go in an earlier move (a lower version) does not hold a later move\'s cancel', async () => {
    const { vm, vif } = await movingVm('web-13', h2.id);
    const [first] = await vifsOf(h2.id, vif.id);
    // Cancelled before any report, then the source says it had let go (the race docs/operations.md describes).
    await op.vm.cancelMigration({ id: vm.id });
    const [src] = await vifsOf(h1.id, vif.id);
    await letGoReport(h1, src!, first!.version);
    await op.vm.migrate({ id: vm.id, hostId: h3.id, expectedRevision: farm.revision, live: true });
    const [next] = await vifsOf(h3.id, vif.id);
    expect(next!.version).toBeGreaterThan(first!.version);
    const c = await op.vm.cancelMigration({ id: vm.id });
    expect(c.vm).toMatchObject({ hostId: h1.id, migratingToHostId: null });
    expect(await vifsOf(h3.id, vif.id)).toEqual([]);
  });

  it('a VIF the source let go on a higher version than this move\'s (not the destination speaking) does not hold the cancel', async () => {
    const { vm, vif } = await movingVm('web-15', h2.id);
    const [src] = await vifsOf(h1.id, vif.id);
    const [dst] = await vifsOf(h2.id, vif.id);
    await letGoReport(h1, src!, dst!.version + 5);
    const c = await op.vm.cancelMigration({ id: vm.id });
    expect(c.vm).toMatchObject({ hostId: h1.id, migratingToHostId: null });
  });

  it('a destination revoked since does not hold the cancel, though the source let the VIF go: nothing else could end the move', async () => {
    const h4 = await f.host('h4', '127.0.0.5');
    const { vm, vif } = await movingVm('web-14', h4.id);
    const [src] = await vifsOf(h1.id, vif.id);
    const [dst] = await vifsOf(h4.id, vif.id);
    await letGoReport(h1, src!, dst!.version);
    await f.caller(f.admin).host.revokeCredential({ id: h4.id });
    const c = await op.vm.cancelMigration({ id: vm.id });
    expect(c.vm).toMatchObject({ hostId: h1.id, migratingToHostId: null });
  });

  it('a passing failure (the database) is retried by a later report, not by every one', async () => {
    const vm = await vmOn('web-8', h1.id);
    const vif = vm.vifs[0]!;
    await op.vm.migrate({ id: vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true });
    // The finish's transaction fails as a lost connection would.
    const failing = new Proxy(f.db, {
      get: (db, key) => (key === '$transaction' ? () => Promise.reject(new Error('Connection terminated unexpectedly')) : Reflect.get(db, key)),
    });
    await finishLiveMoves(failing, h2.id, [vif.id]);
    const failed = await op.vm.get({ id: vm.id });
    expect(failed).toMatchObject({ hostId: h1.id, migratingToHostId: h2.id });
    // Said plainly, without the driver's text.
    expect(failed.migrationError).toMatch(/database error/);
    expect(failed.migrationError).not.toMatch(/Connection terminated/);
    expect(failed.migrationRetryAt!.getTime()).toBeGreaterThanOrEqual(failed.migrationErrorAt!.getTime() + RETRY_MIN_MS);
    // A report before that time tries nothing.
    const [dst] = await vifsOf(h2.id, vif.id);
    const report = () => arrivedReport(h2, vif, dst!);
    const row = () => f.db.vm.findUniqueOrThrow({ where: { id: vm.id } });
    const before = await row();
    await report();
    expect(await row()).toEqual(before);
    const snap = await stateNow();
    await report();
    expect(await stateNow()).toEqual(snap);
    // A second failure waits twice as long.
    await f.db.vm.update({ where: { id: vm.id }, data: { migrationRetryAt: new Date(0) } });
    await finishLiveMoves(failing, h2.id, [vif.id]);
    const twice = await f.db.vm.findUniqueOrThrow({ where: { id: vm.id }, select: { migrationFailures: true, migrationErrorAt: true, migrationRetryAt: true } });
    expect(twice.migrationFailures).toBe(2);
    expect(twice.migrationRetryAt!.getTime() - twice.migrationErrorAt!.getTime()).toBe(2 * RETRY_MIN_MS);
    // Its time come, the next report finishes it and clears the failure.
    await f.db.vm.update({ where: { id: vm.id }, data: { migrationRetryAt: new Date(0) } });
    await report();
    expect(await op.vm.get({ id: vm.id })).toMatchObject({ hostId: h2.id, migratingToHostId: null, migrationError: null, migrationErrorAt: null, migrationRetryAt: null });
    farm.revision = (await op.farm.get({ id: farm.id })).revision;
  });

  it('retryMigration: only a move under way, only the caller\'s tenant, not a viewer; bad input by its field', async () => {
    const vm = await vmOn('web-9', h1.id);
    const e = await refusedWith(op.vm.retryMigration({ id: vm.id }), 'CONFLICT');
    expect(e.message).toMatch(/not being live-migrated/);
    await op.vm.migrate({ id: vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true });
    const snap = await controlSnapshot(f.db);
    await refusedWith(f.caller(f.otherOperator).vm.retryMigration({ id: vm.id }), 'NOT_FOUND');
    await refusedWith(f.caller(f.viewer).vm.retryMigration({ id: vm.id }), 'FORBIDDEN');
    await refusedWith(op.vm.retryMigration({ id: 'nope' } as never), 'BAD_REQUEST');
    await refusedWith(op.vm.retryMigration({ id: vm.id, wait: true } as never), 'BAD_REQUEST');
    expect(await controlSnapshot(f.db)).toEqual(snap);
    // Not arrived yet: taken over, still moving.
    const r = await op.vm.retryMigration({ id: vm.id });
    expect(r.vm).toMatchObject({ hostId: h1.id, migratingToHostId: h2.id, migrationError: null });
    await op.vm.cancelMigration({ id: vm.id });
  });

  it('validates the deployed revision it deploys: a VM not deployed, or deployed elsewhere or as another guest than its intent says, is refused', async () => {
    const vm = await vmOn('web-10', h1.id);
    const fresh = await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'web-10b', hostId: h1.id, guestKind: 'tap', vifs: [{ vnetId: farm.vnetId }] });
    farm.revision = fresh.farmRevision;
    const e1 = await refusedWith(op.vm.migrate({ id: fresh.vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true }), 'BAD_REQUEST');
    expect(e1.message).toMatch(/^live: VM web-10b is not in farm live's deployed revision/);
    const moved = await op.vm.update({ id: vm.id, expectedRevision: farm.revision, hostId: h3.id });
    farm.revision = moved.farmRevision;
    const snap = await controlSnapshot(f.db);
    const e2 = await refusedWith(op.vm.migrate({ id: vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true }), 'BAD_REQUEST');
    expect(e2.message).toMatch(/deployed revision \d+ has it \(tap guest on host h1\), not as its intent says \(tap guest on host h3\): deploy the farm first/);
    expect(await controlSnapshot(f.db)).toEqual(snap);
    for (const id of [fresh.vm.id, vm.id]) farm.revision = (await op.vm.delete({ id, expectedRevision: farm.revision })).farmRevision;
    await op.farm.deploy({ id: farm.id, expectedRevision: farm.revision });
  });

  it('the finish deploys the deployed revision with the move, not edits of the intent that were not deployed', async () => {
    const vm = await vmOn('web-11', h1.id);
    const vif = vm.vifs[0]!;
    await op.vm.migrate({ id: vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true });
    // An edit not deployed: a new VM on h3.
    const extra = await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'extra-1', hostId: h3.id, guestKind: 'tap', vifs: [{ vnetId: farm.vnetId }] });
    const deployedBefore = (await op.farm.get({ id: farm.id })).deployedRevision!;
    const h3Before = await stateOf(h3.id);
    const [dst] = await vifsOf(h2.id, vif.id);
    await arrivedReport(h2, vif, dst!);
    expect(await op.vm.get({ id: vm.id })).toMatchObject({ hostId: h2.id, migratingToHostId: null });
    const after = await op.farm.get({ id: farm.id });
    // The deployed document is the one that ran plus the move, stored as the revision after the edit; the intent goes one further.
    expect(after.deployedRevision).toBe(extra.farmRevision + 1);
    expect(after.revision).toBe(extra.farmRevision + 2);
    const ran = await op.farm.getRevision({ farmId: farm.id, revision: after.deployedRevision! });
    expect(ran.snapshot.vms.map((v) => v.name)).not.toContain('extra-1');
    expect(ran.snapshot.vms.find((v) => v.name === 'web-11')?.host).toBe('h2');
    const old = await op.farm.getRevision({ farmId: farm.id, revision: deployedBefore });
    expect({ ...ran.snapshot, vms: ran.snapshot.vms.map((v) => (v.name === 'web-11' ? { ...v, host: 'h1' } : v)) }).toEqual(old.snapshot);
    expect(await stateOf(h3.id)).toEqual(h3Before);
    expect(await vifsOf(h1.id, vif.id)).toEqual([]);
    // The version the destination held from the start, as a finish without such edits gives it.
    expect((await vifsOf(h2.id, vif.id))[0]).toMatchObject({ version: dst!.version });
    expect((await vifsOf(h2.id, vif.id))[0]!.incoming).toBeUndefined();
    // The edit is still in the intent, deployed by the next deploy with the VM where it moved.
    expect(after.vms.map((v) => v.name)).toContain('extra-1');
    await op.farm.deploy({ id: farm.id, expectedRevision: after.revision });
    expect((await stateOf(h3.id)).vifs.some((v) => v.id === extra.vm.vifs[0]!.id)).toBe(true);
    expect((await vifsOf(h2.id, vif.id)).length).toBe(1);
    farm.revision = (await op.vm.delete({ id: extra.vm.id, expectedRevision: after.revision })).farmRevision;
    await op.farm.deploy({ id: farm.id, expectedRevision: farm.revision });
  });

  it('a report of another host, or of a VIF not moving, finishes nothing', async () => {
    const vm = await vmOn('web-2', h1.id);
    const vif = vm.vifs[0]!;
    const m = await op.vm.migrate({ id: vm.id, hostId: h2.id, expectedRevision: farm.revision, live: true });
    const [dst] = await vifsOf(h2.id, vif.id);
    // h3 (not the destination) says it is active there: ignored.
    await f.caller(h3.actor).agent.report(activeReport(0, { id: vif.id, mac: vif.mac, ip: vif.ip }, dst!.version, dst!.vnet));
    expect((await op.vm.get({ id: vm.id })).migratingToHostId).toBe(h2.id);
    // Cancelled: the destination drops the incoming VIF, the source keeps it, the view shows no move.
    const c = await op.vm.cancelMigration({ id: vm.id });
    expect(c.vm).toMatchObject({ hostId: h1.id, migratingToHostId: null });
    expect(await vifsOf(h2.id, vif.id)).toEqual([]);
    const kept = await vifsOf(h1.id, vif.id);
    expect(kept.length).toBe(1);
    expect(kept[0]!.outgoing).toBeUndefined();
    // Nothing to cancel any more.
    const e = await refusedWith(op.vm.cancelMigration({ id: vm.id }), 'CONFLICT');
    expect(e.message).toMatch(/not being live-migrated/);
    // A late report of the destination after the cancel: nothing moves.
    await f.caller(h2.actor).agent.report(activeReport(0, { id: vif.id, mac: vif.mac, ip: vif.ip }, dst!.version, dst!.vnet));
    expect((await op.vm.get({ id: vm.id })).hostId).toBe(h1.id);
    expect(m.farmRevision).toBe(farm.revision);
  });

  it('refuses, by field, and writes nothing: an emulated VM, the same host, a host not enrolled, a VM already moving, a plain move of a moving VM', async () => {
    const emu = await vmOn('emu-1', h1.id, 'emulated');
    const tap = await vmOn('web-3', h1.id);
    const snap = await controlSnapshot(f.db);
    const refused = async (input: Parameters<Caller['vm']['migrate']>[0], code: 'BAD_REQUEST' | 'CONFLICT' | 'NOT_FOUND', field: string, text: RegExp) => {
      const e = await refusedWith(op.vm.migrate(input), code);
      expect(JSON.stringify(e.cause ?? e)).toContain(field);
      expect(e.message).toMatch(text);
    };
    await refused({ id: emu.id, hostId: h2.id, expectedRevision: farm.revision, live: true }, 'BAD_REQUEST', 'live', /only a TAP VM/);
    await refused({ id: tap.id, hostId: h1.id, expectedRevision: farm.revision, live: true }, 'BAD_REQUEST', 'hostId', /already on host h1/);
    await refused({ id: tap.id, hostId: pendingHostId, expectedRevision: farm.revision, live: true }, 'BAD_REQUEST', 'hostId', /has not enrolled/);
    await refused({ id: tap.id, hostId: '00000000-0000-4000-8000-000000000000', expectedRevision: farm.revision, live: true }, 'NOT_FOUND', 'hostId', /host/);
    await refused({ id: tap.id, hostId: h2.id, expectedRevision: farm.revision - 1, live: true }, 'CONFLICT', 'expectedRevision', /changed since/);
    expect(await controlSnapshot(f.db)).toEqual(snap);

    await op.vm.migrate({ id: tap.id, hostId: h2.id, expectedRevision: farm.revision, live: true });
    const moving = await controlSnapshot(f.db);
    await refused({ id: tap.id, hostId: h3.id, expectedRevision: farm.revision, live: true }, 'CONFLICT', 'id', /being live-migrated/);
    await refused({ id: tap.id, hostId: h3.id, expectedRevision: farm.revision }, 'CONFLICT', 'id', /being live-migrated/);
    // Placing it elsewhere by vm.update, or changing its guest kind, waits for the move too.
    const upd = await refusedWith(op.vm.update({ id: tap.id, expectedRevision: farm.revision, hostId: h3.id }), 'CONFLICT');
    expect(upd.message).toMatch(/being live-migrated/);
    await refusedWith(op.vm.update({ id: tap.id, expectedRevision: farm.revision, guestKind: 'emulated' }), 'CONFLICT');
    expect(await controlSnapshot(f.db)).toEqual(moving);
    await op.vm.cancelMigration({ id: tap.id });
  });

  it('a destination that no longer exists gets nothing and breaks no deploy; the move can still be cancelled', async () => {
    const vm = await vmOn('web-4', h1.id);
    await f.db.vm.update({ where: { id: vm.id }, data: { migratingToHostId: '00000000-0000-4000-8000-00000000dead', migrationById: f.operator.userId } });
    const d = await op.farm.deploy({ id: farm.id, expectedRevision: farm.revision });
    expect(d.warnings.join('\n')).not.toMatch(/unknown host/);
    expect((await vifsOf(h1.id, vm.vifs[0]!.id)).length).toBe(1);
    const c = await op.vm.cancelMigration({ id: vm.id });
    expect(c.vm.migratingToHostId).toBeNull();
  });

  it('refuses a live move of a VM whose farm is not deployed', async () => {
    const other = await op.farm.create({ name: 'draft' });
    const vnet = await op.vnet.create({ farmId: other.id, expectedRevision: other.revision, name: 'n', cidr: '10.72.0.0/24' });
    const vm = await op.vm.create({ farmId: other.id, expectedRevision: vnet.farmRevision, name: 'd-1', hostId: h1.id, guestKind: 'tap', vifs: [{ vnetId: vnet.vnet.id }] });
    const e = await refusedWith(op.vm.migrate({ id: vm.vm.id, hostId: h2.id, expectedRevision: vm.farmRevision, live: true }), 'BAD_REQUEST');
    expect(e.message).toMatch(/not deployed/);
  });

  it('bad input is refused by its field, never a 500', async () => {
    const tap = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'web-3')!;
    for (const live of ['yes', 1, null]) {
      const e = await refusedWith(op.vm.migrate({ id: tap.id, hostId: h2.id, expectedRevision: farm.revision, live } as never), 'BAD_REQUEST');
      expect(e.message).toContain('live');
    }
    await refusedWith(op.vm.cancelMigration({ id: 'not-a-uuid' } as never), 'BAD_REQUEST');
    await refusedWith(op.vm.cancelMigration({ id: tap.id, extra: 1 } as never), 'BAD_REQUEST');
  });

  it('tenant isolation: another tenant can neither start, see nor cancel the move; a viewer cannot start it', async () => {
    const tap = (await op.vm.list({ farmId: farm.id })).items.find((v) => v.name === 'web-3')!;
    const other = f.caller(f.otherOperator);
    await refusedWith(other.vm.migrate({ id: tap.id, hostId: h2.id, expectedRevision: farm.revision, live: true }), 'NOT_FOUND');
    await refusedWith(f.caller(f.viewer).vm.migrate({ id: tap.id, hostId: h2.id, expectedRevision: farm.revision, live: true }), 'FORBIDDEN');
    await op.vm.migrate({ id: tap.id, hostId: h3.id, expectedRevision: farm.revision, live: true });
    await refusedWith(other.vm.cancelMigration({ id: tap.id }), 'NOT_FOUND');
    await refusedWith(other.vm.get({ id: tap.id }), 'NOT_FOUND');
    await refusedWith(f.caller(f.viewer).vm.cancelMigration({ id: tap.id }), 'FORBIDDEN');
    expect((await op.vm.get({ id: tap.id })).migratingToHostId).toBe(h3.id);
    await op.vm.cancelMigration({ id: tap.id });
  });
});
