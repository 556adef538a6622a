// farm.planDocument and farm.applyDocument through the router on a real
// database: items matched by name keep their ids (VIFs their TAP numbers,
// vnets their sealing keys), addresses swap between items in one apply,
// the tenant's own farm is the one applied, roles hold, and a refused
// document writes nothing.
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerOn, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';

let f: ControlFixture;
let h1: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('apply-1', '127.0.0.2');
}, 60_000);
afterAll(() => f?.drop());

function doc(over: Partial<FarmDocumentInput> = {}): FarmDocumentInput {
  return {
    version: 'softudc.farm/v1',
    name: 'app',
    vnets: [{ name: 'lan', cidr: '10.5.0.0/24', security: 'conf' }],
    vms: [
      { name: 'a', host: 'apply-1', vifs: [{ vnet: 'lan', ip: '10.5.0.10' }] },
      { name: 'b', host: 'apply-1', vifs: [{ vnet: 'lan', ip: '10.5.0.11' }] },
    ],
    ...over,
  };
}

async function rowsOf(farmId: string) {
  const vifs = await f.db.vif.findMany({ where: { vm: { farmId } }, select: { id: true, serial: true, ip: true, mac: true, vm: { select: { name: true } } } });
  const vnets = await f.db.vnet.findMany({ where: { farmId }, select: { id: true, name: true, vnid: true } });
  return { vifs: Object.fromEntries(vifs.map((v) => [v.vm.name, v])), vnets: Object.fromEntries(vnets.map((v) => [v.name, v])) };
}

async function refused(p: Promise<unknown>, code: string, message: RegExp): Promise<TRPCError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(TRPCError);
  expect((err as TRPCError).code).toBe(code);
  expect((err as TRPCError).message).toMatch(message);
  return err as TRPCError;
}

describe('farm.applyDocument', () => {
  it('creates, then keeps ids, numbers and keys of what the document names again, swapping addresses in one revision', async () => {
    const op = callerOn(f.db, f.operator);
    const made = await op.farm.applyDocument({ document: doc(), expectedRevision: null });
    expect(made).toMatchObject({ created: true, changed: true, revision: 1 });
    await op.farm.deploy({ id: made.farmId });
    const before = await rowsOf(made.farmId);
    const keys = await f.db.vnetKey.count({ where: { vnetId: before.vnets.lan!.id } });
    expect(keys).toBeGreaterThan(0);

    // a and b trade addresses (a unique pair per vnet), c is added.
    const swapped = doc({
      vms: [
        { name: 'a', host: 'apply-1', vifs: [{ vnet: 'lan', ip: '10.5.0.11', mac: before.vifs.b!.mac }] },
        { name: 'b', host: 'apply-1', vifs: [{ vnet: 'lan', ip: '10.5.0.10', mac: before.vifs.a!.mac }] },
        { name: 'c', host: null, vifs: [{ vnet: 'lan' }] },
      ],
    });
    const plan = await op.farm.planDocument({ document: swapped });
    expect(plan.revision).toBe(1);
    expect(plan.changes.map((c) => `${c.op} ${c.kind} ${c.name}`)).toEqual(['change vm a', 'change vm b', 'add vm c']);
    expect(plan.hosts.map((h) => [h.host, [...h.vifs.changed].sort()])).toEqual([['apply-1', ['app/a/eth0', 'app/b/eth0']]]);
    const r = await op.farm.applyDocument({ document: swapped, expectedRevision: plan.revision });
    expect(r).toMatchObject({ created: false, changed: true, revision: 2 });
    const after = await rowsOf(made.farmId);
    for (const vm of ['a', 'b']) {
      expect(after.vifs[vm]!.id).toBe(before.vifs[vm]!.id);
      expect(after.vifs[vm]!.serial).toBe(before.vifs[vm]!.serial);
    }
    expect(after.vifs.a!.ip).toBe('10.5.0.11');
    expect(after.vifs.b!.mac).toBe(before.vifs.a!.mac);
    expect(after.vnets.lan).toEqual(before.vnets.lan);
    expect(await f.db.vnetKey.count({ where: { vnetId: before.vnets.lan!.id } })).toBe(keys);

    // c's automatic address is kept when the same file comes again.
    const again = await op.farm.applyDocument({ document: swapped });
    expect(again).toMatchObject({ changed: false, revision: 2, changes: [] });
    expect((await rowsOf(made.farmId)).vifs.c).toEqual(after.vifs.c);

    // Removing items and a vnet in the same apply.
    const smaller = doc({ vnets: [{ name: 'lan2', cidr: '10.6.0.0/24' }], vms: [{ name: 'a', host: 'apply-1', vifs: [{ vnet: 'lan2' }] }] });
    const shrunk = await op.farm.applyDocument({ document: smaller, expectedRevision: 2 });
    expect(shrunk.changes.map((c) => `${c.op} ${c.kind} ${c.name}`)).toEqual(['add vnet lan2', 'remove vnet lan', 'change vm a', 'remove vm b', 'remove vm c']);
    const last = await rowsOf(made.farmId);
    expect(Object.keys(last.vifs)).toEqual(['a']);
    expect(last.vifs.a!.id).toBe(before.vifs.a!.id);
  });

  it('takes a layout from the document when it has one, without a revision; an empty one keeps the stored positions', async () => {
    const op = callerOn(f.db, f.operator);
    const document = doc({ name: 'drawn', vms: [], layout: { 'vnet:lan': { x: 10, y: 20 } } });
    const made = await op.farm.applyDocument({ document });
    const lan = (await rowsOf(made.farmId)).vnets.lan!.id;
    expect((await op.farm.getLayout({ farmId: made.farmId })).positions).toEqual({ [lan]: { x: 10, y: 20 } });
    const moved = await op.farm.applyDocument({ document: { ...document, layout: { 'vnet:lan': { x: 30, y: 20 } } } });
    expect(moved).toMatchObject({ changed: true, revision: 1, changes: [{ op: 'change', kind: 'layout', fields: [{ path: `vnet:lan.x`, before: '10', after: '30' }] }] });
    const without = await op.farm.applyDocument({ document: { ...document, layout: {} } });
    expect(without).toMatchObject({ changed: false, revision: 1 });
    expect((await op.farm.getLayout({ farmId: made.farmId })).positions).toEqual({ [lan]: { x: 30, y: 20 } });
  });

  it('applies to the caller tenant\'s farm only, and keeps roles', async () => {
    const other = callerOn(f.db, f.otherOperator);
    const theirs = await other.farm.applyDocument({ document: doc({ vnets: [{ name: 'lan', cidr: '10.5.0.0/24', vnid: 4242 }], vms: [] }) });
    expect(theirs.created).toBe(true);
    const mine = await f.db.farm.findFirst({ where: { tenantId: f.tenantA, name: 'app' }, select: { id: true, revision: true } });
    expect(theirs.farmId).not.toBe(mine!.id);
    expect((await f.db.farm.findUnique({ where: { id: mine!.id }, select: { revision: true } }))!.revision).toBe(mine!.revision);

    const viewer = callerOn(f.db, f.viewer);
    await refused(viewer.farm.applyDocument({ document: doc() }), 'FORBIDDEN', /./);
    const plan = await viewer.farm.planDocument({ document: doc() });
    expect(plan.farmId).toBe(mine!.id);
  });

  it('refuses a bad document with the field path and writes nothing', async () => {
    const op = callerOn(f.db, f.operator);
    const farm = await f.db.farm.findFirst({ where: { tenantId: f.tenantA, name: 'app' }, select: { id: true, revision: true } });
    const before = await op.farm.export({ id: farm!.id });
    await refused(op.farm.applyDocument({ document: doc({ vms: [{ name: 'x', host: 'nohost', vifs: [] }] }) }), 'BAD_REQUEST', /^document\.vms\.0\.host: no host named "nohost"/);
    await refused(op.farm.planDocument({ document: doc({ vms: [{ name: 'x', host: null, vifs: [{ vnet: 'wan' }] }] }) }), 'BAD_REQUEST', /^document\.vms\.0\.vifs\.0\.vnet: no vnet named "wan"/);
    await refused(op.farm.applyDocument({ document: doc({ vnets: [{ name: 'lan', cidr: '10.5.0.0/24', vnid: 4242 }] }) }), 'CONFLICT', /document\.vnets\.0\.vnid: vnet id 4242 is not available in this deployment/);
    await refused(op.farm.applyDocument({ document: doc(), expectedRevision: null }), 'CONFLICT', /^expectedRevision: a farm named "app" was created meanwhile/);
    expect(await op.farm.export({ id: farm!.id })).toEqual(before);
    expect((await f.db.farm.findUnique({ where: { id: farm!.id }, select: { revision: true } }))!.revision).toBe(farm!.revision);
    expect(h1.name).toBe('apply-1');
  });

  it("a plan's vnet id clash says the same whether another tenant or the caller's own other farm holds the id", async () => {
    const op = callerOn(f.db, f.operator);
    const own = await op.farm.applyDocument({ document: doc({ name: 'own-other', vnets: [{ name: 'lan', cidr: '10.6.0.0/24', vnid: 4343 }], vms: [] }) });
    expect(own.created).toBe(true);
    const viewer = callerOn(f.db, f.viewer);
    const theirs = await refused(viewer.farm.planDocument({ document: doc({ vnets: [{ name: 'lan', cidr: '10.5.0.0/24', vnid: 4242 }] }) }), 'CONFLICT', /./);
    const mine = await refused(viewer.farm.planDocument({ document: doc({ vnets: [{ name: 'lan', cidr: '10.5.0.0/24', vnid: 4343 }] }) }), 'CONFLICT', /./);
    expect(theirs.message).toBe('document.vnets.0.vnid: vnet id 4242 is not available in this deployment; choose another or leave it out');
    expect(mine.message).toBe(theirs.message.replace('4242', '4343'));
  });
});
