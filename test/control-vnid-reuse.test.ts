// A vnet id stays one farm's while anything may still run it: a tenant who
// edits a deployed farm's intent (another id, or the vnet deleted) without
// redeploying does not free the id for another tenant, a deploy carrying an
// id another farm still runs is refused, and no host state ever lists two
// farms on one vnet id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState } from '../server/compile/index.ts';
import { buildFarm, refusedWith, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
}, 60_000);
afterAll(() => f?.drop());

/** Every (host, vnet id) that lists more than one farm. */
async function sharedVnids(): Promise<string[]> {
  const rows = await f.db.hostDesiredState.findMany({ select: { state: true } });
  const farms = new Map<number, Set<string>>();
  for (const r of rows) {
    const s = r.state as unknown as HostState;
    for (const v of s.vnets) {
      if (!v.farm) continue;
      const set = farms.get(v.id) ?? new Set<string>();
      set.add(v.farm);
      farms.set(v.id, set);
    }
  }
  return [...farms].filter(([, s]) => s.size > 1).map(([id]) => String(id));
}

describe('vnet ids of deployed farms', () => {
  it('an id changed away from in the intent is not handed to another tenant', async () => {
    const a = f.caller(f.operator);
    const b = f.caller(f.otherOperator);
    const farmA = await buildFarm(a, { name: 'a-net', vnets: [{ name: 'lan', cidr: '10.61.0.0/24' }], vms: [{ name: 'a-1', hostId: h1.id, vnets: ['lan'] }] });
    const held = farmA.vnets['lan']!.vnid;
    await a.farm.deploy({ id: farmA.id });
    // A moves the vnet to another id in the intent and does not redeploy: its VMs still run on `held`.
    const moved = await a.vnet.update({ id: farmA.vnets['lan']!.id, expectedRevision: farmA.revision, vnid: 4000 });
    expect(moved.vnet.vnid).toBe(4000);

    const err = await refusedWith(b.farm.create({ name: 'b-net' }).then((fb) => b.vnet.create({ farmId: fb.id, expectedRevision: fb.revision, name: 'lan', cidr: '10.62.0.0/24', vnid: held })), 'CONFLICT');
    expect(err.message).toBe(`vnid: vnet id ${held} is not available in this deployment; choose another or leave it out`);
    const farmB = (await b.farm.list({})).items.find((x) => x.name === 'b-net')!;
    const auto = await b.vnet.create({ farmId: farmB.id, expectedRevision: farmB.revision, name: 'lan', cidr: '10.62.0.0/24' });
    expect(auto.vnet.vnid).not.toBe(held);
    expect(auto.vnet.vnid).not.toBe(4000);
    const vm = await b.vm.create({ farmId: farmB.id, expectedRevision: auto.farmRevision, name: 'b-1', hostId: h2.id, vifs: [{ vnetId: auto.vnet.id }] });
    await b.farm.deploy({ id: farmB.id });
    expect(vm.vm.vifs).toHaveLength(1);
    expect(await sharedVnids()).toEqual([]);

    // The farm that holds the id may take it back.
    const back = await a.vnet.update({ id: farmA.vnets['lan']!.id, expectedRevision: moved.farmRevision, vnid: held });
    expect(back.vnet.vnid).toBe(held);
  });

  it('an id of a deleted vnet stays taken while its farm runs it; a deploy with an id another farm runs is refused', async () => {
    const a = f.caller(f.operator);
    const b = f.caller(f.otherOperator);
    const farmA = await buildFarm(a, { name: 'a-gone', vnets: [{ name: 'lan', cidr: '10.63.0.0/24' }], vms: [{ name: 'g-1', hostId: h1.id, vnets: ['lan'] }] });
    const held = farmA.vnets['lan']!.vnid;
    await a.farm.deploy({ id: farmA.id });
    const gone = await a.vm.delete({ id: farmA.vms['g-1']!.id, expectedRevision: farmA.revision });
    await a.vnet.delete({ id: farmA.vnets['lan']!.id, expectedRevision: gone.farmRevision });

    const farmB = await buildFarm(b, { name: 'b-after', vnets: [{ name: 'lan', cidr: '10.64.0.0/24' }], vms: [{ name: 'c-1', hostId: h2.id, vnets: ['lan'] }] });
    expect(farmB.vnets['lan']!.vnid).not.toBe(held);

    // Rows written before ids were guarded: B's vnet carries the id A's deployment still runs.
    await f.db.vnet.update({ where: { id: farmB.vnets['lan']!.id }, data: { vnid: BigInt(held) } });
    const err = await refusedWith(b.farm.deploy({ id: farmB.id }), 'CONFLICT');
    expect(err.message).toBe(`id: vnet id ${held} of this revision is still deployed elsewhere in this deployment; give the vnet another id and deploy again`);
    expect(err.message).not.toMatch(/a-gone|tenant-a|oscar/);
    const row = await f.db.farm.findUnique({ where: { id: farmB.id }, select: { deployedRevision: true } });
    expect(row?.deployedRevision).toBeNull();
    expect(await sharedVnids()).toEqual([]);
  });
});
