// Placements against what hosts declared they run (host.enroll
// `capabilities`, e.g. `guest:emulated`, `guest:tap`): intent edits that put
// a guest on a host that cannot run it are refused naming the field; a
// placement that became invalid later (the host re-enrolled with fewer
// capabilities) shows per host in the plan and is refused by deploy, naming
// the VM and the host. Hosts that never declared guest kinds are allowed,
// with a warning where it matters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlSnapshot, setupControl, type Caller, type ControlFixture } from '../../test/control-fixture.ts';
import { expectError, stored } from '../../test/farm-fixtures.ts';
import type { FarmDocument } from '../farms/farmDocument.ts';

let f: ControlFixture;
let op: Caller;
/** Declares guest:emulated and guest:tap. */
let tapHost: string;
/** Declares guest:emulated only (an agent not running as root). */
let plainHost: string;
/** Enrolled without declaring anything. */
let unknownHost: string;

/** A host enrolled through the API, declaring `capabilities`. */
async function enrolled(name: string, address: string, capabilities?: string[]): Promise<string> {
  const made = await f.caller(f.admin).host.create({ name, address });
  const out = await f.caller(null).host.enroll({ token: made.enrollmentToken, agentVersion: 'test', capabilities });
  return out.hostId;
}

/** The agent enrolls again (e.g. restarted without root) and declares something else. */
async function reenroll(hostId: string, capabilities: string[]): Promise<void> {
  const t = await f.caller(f.admin).host.createEnrollmentToken({ id: hostId });
  await f.caller(null).host.enroll({ token: t.enrollmentToken, agentVersion: 'test', capabilities });
}

async function farmWithVnet(name: string) {
  const farm = await op.farm.create({ name });
  const v = await op.vnet.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'lan', cidr: '10.60.0.0/24' });
  return { id: farm.id, revision: v.farmRevision, vnet: v.vnet.id };
}

beforeAll(async () => {
  f = await setupControl();
  op = f.caller(f.operator);
  tapHost = await enrolled('cap-tap', '127.0.0.81', ['guest:emulated', 'guest:tap']);
  plainHost = await enrolled('cap-plain', '127.0.0.82', ['guest:emulated']);
  unknownHost = await enrolled('cap-unknown', '127.0.0.83');
}, 60_000);
afterAll(() => f?.drop());

describe('intent edits', () => {
  it('vm.create refuses a tap guest on a host without guest:tap, and writes nothing', async () => {
    const farm = await farmWithVnet('create');
    const before = await stored(op, farm.id);
    const e = await expectError(
      op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'tap-1', hostId: plainHost, guestKind: 'tap', vifs: [{ vnetId: farm.vnet }] }),
      'BAD_REQUEST',
      'hostId',
    );
    expect(e.message).toBe('hostId: host cap-plain cannot run tap guests (its agent declared guest:emulated only); choose a host with guest:tap or another guest kind');
    expect(e.details).toEqual({ host: 'cap-plain', guestKind: 'tap', needs: 'guest:tap' });
    expect(await stored(op, farm.id)).toEqual(before);
    // What the hosts can run is accepted; a host that never said is given the benefit of the doubt.
    let rev = farm.revision;
    for (const [name, hostId, guestKind] of [['a', tapHost, 'tap'], ['b', plainHost, 'emulated'], ['c', unknownHost, 'tap']] as const) {
      rev = (await op.vm.create({ farmId: farm.id, expectedRevision: rev, name, hostId, guestKind })).farmRevision;
    }
  });

  it('vm.update blames the field that changed: the host, or the guest kind', async () => {
    const farm = await farmWithVnet('update');
    const tap = await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'tap', hostId: tapHost, guestKind: 'tap' });
    const plain = await op.vm.create({ farmId: farm.id, expectedRevision: tap.farmRevision, name: 'plain', hostId: plainHost });
    const rev = plain.farmRevision;
    const before = await stored(op, farm.id);
    await expectError(op.vm.update({ id: tap.vm.id, expectedRevision: rev, hostId: plainHost }), 'BAD_REQUEST', 'hostId');
    await expectError(op.vm.update({ id: plain.vm.id, expectedRevision: rev, guestKind: 'tap' }), 'BAD_REQUEST', 'guestKind');
    await expectError(op.vm.update({ id: plain.vm.id, expectedRevision: rev, hostId: plainHost, guestKind: 'tap' }), 'BAD_REQUEST', 'guestKind');
    await expectError(op.vm.update({ id: tap.vm.id, expectedRevision: rev, name: 'moved', hostId: plainHost, guestKind: 'tap' }), 'BAD_REQUEST', 'hostId');
    expect(await stored(op, farm.id)).toEqual(before);
    // Changing both to something the new host runs is fine, and so is an edit that leaves the placement alone.
    const moved = await op.vm.update({ id: tap.vm.id, expectedRevision: rev, hostId: plainHost, guestKind: 'emulated' });
    await op.vm.update({ id: plain.vm.id, expectedRevision: moved.farmRevision, hostId: tapHost, guestKind: 'tap' });
  });

  it('vm.migrate refuses a host that cannot run the guest, and writes nothing', async () => {
    const farm = await farmWithVnet('migrate');
    const vm = await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'tap', hostId: tapHost, guestKind: 'tap', vifs: [{ vnetId: farm.vnet }] });
    await op.farm.deploy({ id: farm.id, expectedRevision: vm.farmRevision });
    const before = { control: await controlSnapshot(f.db), farm: await stored(op, farm.id) };
    const e = await expectError(op.vm.migrate({ id: vm.vm.id, expectedRevision: vm.farmRevision, hostId: plainHost }), 'BAD_REQUEST', 'hostId');
    expect(e.message).toContain('host cap-plain cannot run tap guests');
    expect({ control: await controlSnapshot(f.db), farm: await stored(op, farm.id) }).toEqual(before);
    const ok = await op.vm.migrate({ id: vm.vm.id, expectedRevision: vm.farmRevision, hostId: unknownHost });
    expect(ok.vm.hostName).toBe('cap-unknown');
    expect(ok.warnings).toEqual([
      'farm migrate: VM tap (tap) is placed on host cap-unknown, which has not declared the guest kinds it runs; not checked',
    ]);
    await op.farm.undeploy({ id: farm.id });
  });

  it('farm.import refuses the VM whose host cannot run it, naming it in the document', async () => {
    const document = {
      version: 'softudc.farm/v1',
      name: 'imported',
      vnets: [{ name: 'lan', cidr: '10.61.0.0/24' }],
      vms: [
        { name: 'ok', host: 'cap-tap', guestKind: 'tap', vifs: [{ vnet: 'lan' }] },
        { name: 'bad', host: 'cap-plain', guestKind: 'tap', vifs: [{ vnet: 'lan' }] },
      ],
    } as FarmDocument;
    const farms = await op.farm.list({ limit: 200 });
    const e = await expectError(op.farm.import({ document }), 'BAD_REQUEST', 'document.vms.1.host');
    expect(e.message).toContain('host cap-plain cannot run tap guests');
    expect(await op.farm.list({ limit: 200 })).toEqual(farms);
    const fixed = { ...document, vms: document.vms.map((v) => ({ ...v, host: v.name === 'bad' ? 'cap-unknown' : v.host })) };
    expect((await op.farm.import({ document: fixed })).counts.vms).toBe(2);
  });
});

describe('plan and deploy', () => {
  it('report a placement the host no longer runs per host, and deploy refuses it naming the VM and host', async () => {
    const host = await enrolled('cap-loses-tap', '127.0.0.84', ['guest:emulated', 'guest:tap']);
    const farm = await farmWithVnet('loses');
    const tap = await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'db', hostId: host, guestKind: 'tap', vifs: [{ vnetId: farm.vnet }] });
    const web = await op.vm.create({ farmId: farm.id, expectedRevision: tap.farmRevision, name: 'web', hostId: host, vifs: [{ vnetId: farm.vnet }] });
    const rev = web.farmRevision;
    const first = await op.farm.deploy({ id: farm.id, expectedRevision: rev });
    expect(first.warnings).toEqual([]);
    const clean = await op.farm.plan({ id: farm.id });
    expect(clean).toMatchObject({ errors: [], hostChecks: [] });

    await reenroll(host, ['guest:emulated']);
    const message = 'farm loses: VM db: host cap-loses-tap cannot run tap guests (its agent declared guest:emulated only); choose a host with guest:tap or another guest kind';
    const plan = await op.farm.plan({ id: farm.id });
    expect(plan.hostChecks).toEqual([{ host: 'cap-loses-tap', errors: [message], warnings: [] }]);
    expect(plan.errors).toEqual([message]);
    // The stored revision is judged by the hosts as they are now, too.
    expect((await op.farm.plan({ id: farm.id, revision: first.deployment.revision! })).errors).toEqual([message]);

    const before = { control: await controlSnapshot(f.db), farm: await stored(op, farm.id) };
    const e = await expectError(op.farm.deploy({ id: farm.id, expectedRevision: rev }), 'BAD_REQUEST', 'id');
    expect(e.message).toBe(`id: ${message}; nothing was deployed`);
    expect(e.details).toEqual({ placements: [{ vm: 'db', host: 'cap-loses-tap', guestKind: 'tap' }] });
    await expectError(op.farm.deploy({ id: farm.id, revision: first.deployment.revision! }), 'BAD_REQUEST', 'revision');
    // A copy would place the same guest on the same host: refused like an import (the document is sorted by name, db first).
    await expectError(op.farm.clone({ id: farm.id, name: 'loses-copy' }), 'BAD_REQUEST', 'vms.0.host');
    expect({ control: await controlSnapshot(f.db), farm: await stored(op, farm.id) }).toEqual(before);
    expect((await op.farm.list({ limit: 200 })).items.map((x) => x.name)).not.toContain('loses-copy');

    // Undeploying is always possible; fixing the guest kind makes the farm deployable again.
    await op.farm.undeploy({ id: farm.id });
    const fixed = await op.vm.update({ id: tap.vm.id, expectedRevision: rev, guestKind: 'emulated' });
    expect((await op.farm.plan({ id: farm.id })).errors).toEqual([]);
    await op.farm.deploy({ id: farm.id, expectedRevision: fixed.farmRevision });
    await op.farm.undeploy({ id: farm.id });
  });

  it('deploys to hosts that never declared guest kinds, warning only where more than an emulated guest is needed', async () => {
    const farm = await farmWithVnet('unknown');
    const tap = await op.vm.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'tap', hostId: unknownHost, guestKind: 'tap', vifs: [{ vnetId: farm.vnet }] });
    const emu = await op.vm.create({ farmId: farm.id, expectedRevision: tap.farmRevision, name: 'emu', hostId: unknownHost, vifs: [{ vnetId: farm.vnet }] });
    const warning = 'farm unknown: VM tap (tap) is placed on host cap-unknown, which has not declared the guest kinds it runs; not checked';
    const plan = await op.farm.plan({ id: farm.id });
    expect(plan.hostChecks).toEqual([{ host: 'cap-unknown', errors: [], warnings: [warning] }]);
    expect(plan.errors).toEqual([]);
    expect(plan.warnings).toEqual([warning]);
    const r = await op.farm.deploy({ id: farm.id, expectedRevision: emu.farmRevision });
    expect(r.warnings).toEqual([warning]);
    expect(r.deployment.targets.map((t) => t.host)).toEqual(['cap-unknown']);
    await op.farm.undeploy({ id: farm.id });
  });
});
