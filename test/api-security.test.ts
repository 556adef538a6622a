// Sealed-vnet keys, the VARP key and per-VM bandwidth limits through the API:
// keys are generated at deploy, reach only the hosts carrying their vnet,
// rotate in three steps (add, switch, retire) without ever leaving the
// control loop, and no API output or audit entry ever contains them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState, StateVnet } from '../server/compile/index.ts';
import { advanceKeyRotations, rotationSettings } from '../server/control/keyRotation.ts';
import { agentReport, buildFarm, setupControl, type BuiltFarm, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import { expectError } from './farm-fixtures.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost, h3: EnrolledHost;
let farm: BuiltFarm;
const SEALED = 5000;
const OPEN = 5001;
/** Everything any API procedure returned in this file: searched for key material at the end. */
const outputs: unknown[] = [];
const seen = <T>(x: T): T => (outputs.push(x), x);
/** Every key that ever reached a host's state (retired keys are wiped from the database). */
const capturedKeys = new Set<string>();

beforeAll(async () => {
  process.env.SOFTUDC_VARP_AUTH = '1';
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
  h3 = await f.host('h3', '127.0.0.4');
  const op = f.caller(f.operator);
  farm = await buildFarm(op, {
    name: 'sec',
    vnets: [{ name: 'sealed', cidr: '10.50.0.0/24', vnid: SEALED }, { name: 'open', cidr: '10.51.0.0/24', vnid: OPEN }],
    vms: [
      { name: 'a', hostId: h1.id, vnets: ['sealed'] },
      { name: 'b', hostId: h2.id, vnets: ['sealed'] },
      { name: 'c', hostId: h3.id, vnets: ['open'] },
    ],
  });
  const u = seen(await op.vnet.update({ id: farm.vnets.sealed!.id, expectedRevision: farm.revision, security: 'conf' }));
  const v = seen(await op.vm.update({ id: farm.vms.a!.id, expectedRevision: u.farmRevision, bandwidthMbps: 50, burstKb: 64 }));
  farm.revision = v.farmRevision;
  seen(await op.farm.deploy({ id: farm.id }));
}, 60_000);
afterAll(async () => {
  delete process.env.SOFTUDC_VARP_AUTH;
  await f?.drop();
});

async function state(h: EnrolledHost): Promise<{ generation: number; state: HostState }> {
  const row = await f.db.hostDesiredState.findUniqueOrThrow({ where: { hostId: h.id }, select: { generation: true, state: true } });
  const st = row.state as unknown as HostState;
  for (const v of st.vnets) for (const k of v.keys ?? []) capturedKeys.add(k.key);
  return { generation: row.generation, state: st };
}
const sealedOn = async (h: EnrolledHost): Promise<StateVnet | undefined> => (await state(h)).state.vnets.find((v) => v.id === SEALED);
const keyIds = async (h: EnrolledHost) => (await sealedOn(h))?.keys?.map((k) => k.id);
/** The agents say they applied what they were given. */
async function applyAll(...hosts: EnrolledHost[]) {
  for (const h of hosts) await f.caller(h.actor).agent.report(agentReport((await state(h)).generation));
}
const settings = { rotateEveryMs: 0, graceMs: 3_600_000 };

describe('vnet keys', () => {
  it('generates a key at deploy and gives it only to the hosts carrying the vnet', async () => {
    const rows = await f.db.vnetKey.findMany({ where: { vnetId: farm.vnets.sealed!.id }, select: { keyId: true, key: true, salt: true, activatedAt: true } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.key).toHaveLength(32);
    expect(rows[0]!.salt).toHaveLength(4);
    expect(rows[0]!.activatedAt).not.toBeNull();
    for (const h of [h1, h2]) {
      const v = (await sealedOn(h))!;
      expect(v.keys).toEqual([{ id: 1, key: Buffer.from(rows[0]!.key).toString('base64'), salt: Buffer.from(rows[0]!.salt).toString('base64') }]);
      expect(v.sendKeyId).toBe(1);
    }
    const s3 = JSON.stringify((await state(h3)).state);
    expect(s3).not.toContain(Buffer.from(rows[0]!.key).toString('base64'));
    expect((await state(h3)).state.vnets.map((v) => v.id)).toEqual([OPEN]);
    expect(await f.db.vnetKey.count({ where: { vnet: { vnid: BigInt(OPEN) } } })).toBe(0);
  });

  it('writes the deployment VARP key into every state, and the VM limit into its VIFs', async () => {
    const secret = await f.db.deploymentSecret.findUniqueOrThrow({ where: { name: 'varp' }, select: { value: true } });
    expect(secret.value.length).toBe(32);
    for (const h of [h1, h2, h3]) expect((await state(h)).state.varp).toEqual({ key: Buffer.from(secret.value).toString('base64') });
    expect((await state(h1)).state.vifs[0]!.limit).toEqual({ rateMbps: 50, burstKb: 64 });
    expect((await state(h2)).state.vifs[0]!.limit).toBeUndefined();
  });

  it('refuses rotation by role, tenant, open vnets and while one is in progress', async () => {
    await expectError(f.caller(f.viewer).vnet.rotateKey({ id: farm.vnets.sealed!.id }), 'FORBIDDEN', null);
    await expectError(f.caller(f.otherOperator).vnet.rotateKey({ id: farm.vnets.sealed!.id }), 'NOT_FOUND', 'id');
    await expectError(f.caller(f.operator).vnet.rotateKey({ id: farm.vnets.open!.id }), 'BAD_REQUEST', 'id');
    expect(await f.db.vnetKey.count()).toBe(1);
  });

  it('rotates in three steps, each taken only once every carrier applied the previous one', async () => {
    const op = f.caller(f.operator);
    const r = seen(await op.vnet.rotateKey({ id: farm.vnets.sealed!.id }));
    expect(r).toEqual({ id: farm.vnets.sealed!.id, vnid: SEALED, keyId: 2, phase: 'adding' });
    await expectError(op.vnet.rotateKey({ id: farm.vnets.sealed!.id }), 'CONFLICT', 'id');
    // Step 1: both keys accepted, still sending with the old one.
    for (const h of [h1, h2]) {
      expect(await keyIds(h)).toEqual([1, 2]);
      expect((await sealedOn(h))!.sendKeyId).toBe(1);
    }
    expect(await advanceKeyRotations({ db: f.db, settings })).toEqual({ started: [], activated: [], retired: [] });
    await applyAll(h1); // h2 has not applied yet
    expect((await advanceKeyRotations({ db: f.db, settings })).activated).toEqual([]);
    await applyAll(h2);
    // Step 2: switch.
    expect((await advanceKeyRotations({ db: f.db, settings })).activated).toEqual([SEALED]);
    for (const h of [h1, h2]) {
      expect(await keyIds(h)).toEqual([1, 2]);
      expect((await sealedOn(h))!.sendKeyId).toBe(2);
    }
    expect((await advanceKeyRotations({ db: f.db, settings })).retired).toEqual([]);
    await applyAll(h1, h2);
    // Step 3: the old key leaves the hosts, and its material the database.
    expect((await advanceKeyRotations({ db: f.db, settings })).retired).toEqual([SEALED]);
    for (const h of [h1, h2]) expect(await keyIds(h)).toEqual([2]);
    const old = await f.db.vnetKey.findFirstOrThrow({ where: { keyId: 1n }, select: { key: true, retiredAt: true } });
    expect(old.retiredAt).not.toBeNull();
    expect(old.key).toHaveLength(0);
  });

  it('rotates on schedule, once across concurrent runs, and moves on after the grace period', async () => {
    const due = { rotateEveryMs: 1, graceMs: 3_600_000 };
    const later = new Date(Date.now() + 1000);
    const runs = await Promise.all([advanceKeyRotations({ db: f.db, settings: due, now: later }), advanceKeyRotations({ db: f.db, settings: due, now: later })]);
    expect(runs.flatMap((x) => x.started)).toEqual([SEALED]);
    expect(await keyIds(h1)).toEqual([2, 3]);
    // Nobody applies: the grace period ends the wait.
    const afterGrace = { rotateEveryMs: 0, graceMs: 0 };
    const now = new Date(later.getTime() + 1);
    expect((await advanceKeyRotations({ db: f.db, settings: afterGrace, now })).activated).toEqual([SEALED]);
    expect((await sealedOn(h2))!.sendKeyId).toBe(3);
    expect((await advanceKeyRotations({ db: f.db, settings: afterGrace, now: new Date(now.getTime() + 1) })).retired).toEqual([SEALED]);
    expect(await keyIds(h2)).toEqual([3]);
    const audit = await f.db.auditLog.findMany({ where: { action: 'vnet.keyRotationStep' }, select: { actorKind: true } });
    expect(audit.length).toBeGreaterThanOrEqual(3);
    expect(audit.every((a) => a.actorKind === 'system')).toBe(true);
  });

  it('reads rotation settings from the environment and names a bad one', () => {
    expect(rotationSettings({})).toEqual({ rotateEveryMs: 24 * 3_600_000, graceMs: 300_000 });
    expect(rotationSettings({ SOFTUDC_KEY_ROTATION_HOURS: '0.5' }).rotateEveryMs).toBe(1_800_000);
    expect(() => rotationSettings({ SOFTUDC_KEY_ROTATION_HOURS: 'daily' })).toThrow(/^SOFTUDC_KEY_ROTATION_HOURS/);
  });
});

describe('VARP key', () => {
  it('is rotated by an admin only, on every host', async () => {
    const before = (await state(h3)).state.varp!.key;
    await expectError(f.caller(f.operator).deployment.rotateVarpKey(), 'FORBIDDEN', null);
    const r = seen(await f.caller(f.admin).deployment.rotateVarpKey());
    expect(r.hosts).toBe(3);
    const after = (await state(h3)).state.varp!.key;
    expect(after).not.toBe(before);
    for (const h of [h1, h2]) expect((await state(h)).state.varp!.key).toBe(after);
  });
});

describe('bandwidth limits', () => {
  it('validates the limit, naming the field, and leaves the VM unchanged', async () => {
    const op = f.caller(f.operator);
    const b = farm.vms.b!.id;
    const before = await op.vm.get({ id: b });
    const rev = (await op.farm.get({ id: farm.id })).revision;
    await expectError(op.vm.update({ id: b, expectedRevision: rev, bandwidthMbps: 0 }), 'BAD_REQUEST', 'bandwidthMbps');
    await expectError(op.vm.update({ id: b, expectedRevision: rev, bandwidthMbps: 100_001 }), 'BAD_REQUEST', 'bandwidthMbps');
    await expectError(op.vm.update({ id: b, expectedRevision: rev, burstKb: 64 }), 'BAD_REQUEST', 'burstKb');
    expect(await op.vm.get({ id: b })).toEqual(before);
    const a = seen(await op.vm.get({ id: farm.vms.a!.id }));
    expect(a).toMatchObject({ bandwidthMbps: 50, burstKb: 64 });
    const doc = seen(await op.farm.export({ id: farm.id }));
    expect(JSON.stringify(doc)).toContain('"bandwidthMbps":50');
    // Removing the rate removes the burst too.
    const cleared = await op.vm.update({ id: farm.vms.a!.id, expectedRevision: rev, bandwidthMbps: null });
    expect(cleared.vm).toMatchObject({ bandwidthMbps: null, burstKb: null });
  });
});

describe('secrets never leave the control loop', () => {
  it('no API output and no audit entry contains any key, in base64 or hex', async () => {
    const op = f.caller(f.operator);
    const admin = f.caller(f.admin);
    seen(await op.farm.get({ id: farm.id }));
    seen(await op.farm.plan({ id: farm.id }));
    seen(await op.farm.deployments({ farmId: farm.id }));
    seen(await op.vnet.get({ id: farm.vnets.sealed!.id }));
    seen(await op.vnet.list({ farmId: farm.id }));
    seen(await op.vm.list({ farmId: farm.id }));
    seen(await admin.host.list({}));
    seen(await admin.host.get({ id: h1.id }));
    seen(await admin.audit.list({ limit: 200 }));
    // Undeploying retires every key of the farm's vnets.
    seen(await op.farm.undeploy({ id: farm.id }));
    expect(await f.db.vnetKey.count({ where: { retiredAt: null } })).toBe(0);

    const keys = await f.db.vnetKey.findMany({ select: { salt: true } });
    expect(keys.length).toBeGreaterThanOrEqual(3);
    // Material of live keys was captured while live: the states and the VARP secret hold it.
    const secrets: string[] = [];
    const varp = await f.db.deploymentSecret.findUniqueOrThrow({ where: { name: 'varp' }, select: { value: true } });
    secrets.push(Buffer.from(varp.value).toString('base64'), Buffer.from(varp.value).toString('hex'));
    for (const o of capturedKeys) secrets.push(o, Buffer.from(o, 'base64').toString('hex'));
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    const audit = await f.db.auditLog.findMany({ select: { before: true, after: true, action: true } });
    const text = JSON.stringify([outputs, audit], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(text.length).toBeGreaterThan(1000);
    for (const s of secrets) expect(text.includes(s), `secret found in API output or audit`).toBe(false);
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['vnet.rotateKey', 'deployment.rotateVarpKey']));
  });
});
