// Per-farm limits (server/limits.ts), the same on every path that adds to a
// farm: a document past them is refused whole with a clear error before
// anything is written; a farm at them imports, exports and clones, answers
// with a summary rather than the farm itself, and keeps nothing of the
// import in memory; a full farm, or a full VM, router or firewall, takes no
// more objects one at a time (so it still exports); an oversized request
// body is refused before it is read. Only counts and sizes
// are measured here; timings are in `npm run bench:api`.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { FARM_LIMITS, MAX_BODY_BYTES, OBJECT_LIMITS } from '../server/limits.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';
import { setupControl, type ControlFixture } from './control-fixture.ts';
import { expectError } from './farm-fixtures.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** VIFs per VM at most (docs/api.md), so a farm at the VIF limit has this many VIFs on every VM. */
const VIFS_PER_VM = OBJECT_LIMITS.vifsPerVm;
/** Heap a finished import may leave behind (its farm is in the database, not in the console). */
const RETAINED_HEAP_MAX = 48 * 1024 * 1024;

let f: ControlFixture;
let server: ApiServer;

beforeAll(async () => {
  f = await setupControl();
  server = await startApiServer({ db: { prisma: f.db, raw: f.t.raw } });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await f?.drop();
});

/** `vms` VMs, each with a VIF on every one of `vnets` vnets. */
function farmOf(name: string, vms: number, vnets: number): FarmDocumentInput {
  const nets = Array.from({ length: vnets }, (_, i) => ({ name: `n${i}`, cidr: `10.${i}.0.0/24` }));
  return {
    version: 'softudc.farm/v1',
    name,
    vnets: nets,
    vms: Array.from({ length: vms }, (_, i) => ({ name: `vm-${i}`, vifs: nets.map((n) => ({ vnet: n.name })) })),
  };
}

const farmRows = async (name: string) => f.db.farm.count({ where: { name } });

describe('a document past a farm limit', () => {
  it('is refused whole, naming the list and both numbers, and nothing is written', async () => {
    const op = f.caller(f.operator);
    // The review's import: 10 000 VMs with 8 VIFs each.
    const attack = farmOf('attack', 10_000, 8);
    const e1 = await expectError(op.farm.import({ document: attack as never }), 'BAD_REQUEST', 'document.vms');
    expect(e1.message).toBe(`document.vms: at most ${FARM_LIMITS.vms} VMs in one farm (this one would have 10000)`);
    // Few VMs, but VIFs past the farm's total.
    const vms = FARM_LIMITS.vifs / VIFS_PER_VM + 1;
    const wide = farmOf('wide', vms, VIFS_PER_VM);
    const e2 = await expectError(op.farm.import({ document: wide }), 'BAD_REQUEST', 'document.vms');
    expect(e2.message).toBe(`document.vms: at most ${FARM_LIMITS.vifs} VIFs in one farm (this one would have ${vms * VIFS_PER_VM})`);
    expect(await farmRows('attack')).toBe(0);
    expect(await farmRows('wide')).toBe(0);
  }, 120_000);
});

describe('a farm at the limit', () => {
  let atLimit = '';

  it('imports; the answer is its summary; nothing of it stays in the console\'s memory', async () => {
    const op = f.caller(f.operator);
    const document = farmOf('full', FARM_LIMITS.vifs / VIFS_PER_VM, VIFS_PER_VM);
    gc();
    const before = process.memoryUsage().heapUsed;
    const r = await op.farm.import({ document });
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    atLimit = r.id;
    expect(r.counts).toEqual({ vnets: VIFS_PER_VM, vms: FARM_LIMITS.vifs / VIFS_PER_VM, routers: 0, firewalls: 0 });
    expect(JSON.stringify(r).length).toBeLessThan(1_000);
    expect(await f.db.vif.count({ where: { vm: { farmId: r.id } } })).toBe(FARM_LIMITS.vifs);
    expect(retained).toBeLessThan(RETAINED_HEAP_MAX);
  }, 180_000);

  it('exports, and its export imports again; a clone answers with a summary too', async () => {
    const op = f.caller(f.operator);
    const doc = await op.farm.export({ id: atLimit });
    expect(doc.vms.flatMap((v) => v.vifs)).toHaveLength(FARM_LIMITS.vifs);
    const again = await op.farm.import({ document: doc, name: 'full-again', vnids: 'auto' });
    expect(again.counts.vms).toBe(doc.vms.length);
    const copy = await op.farm.clone({ id: atLimit, name: 'full-copy' });
    expect(Object.keys(copy).sort()).toEqual(['counts', 'createdAt', 'deployedRevision', 'description', 'id', 'name', 'revision', 'updatedAt']);
  }, 180_000);

  it('takes no more objects one at a time, on any path', async () => {
    const op = f.caller(f.operator);
    const detail = await op.farm.get({ id: atLimit });
    const vm = detail.vms[0]!;
    const vnet = detail.vnets[0]!;
    const full = `farm full already has ${FARM_LIMITS.vifs} VIFs, the most one farm may hold`;
    const e1 = await expectError(op.vif.create({ vmId: vm.id, expectedRevision: detail.revision, vnetId: vnet.id }), 'CONFLICT', 'vmId');
    expect(e1.message).toBe(`vmId: ${full}`);
    const e2 = await expectError(
      op.vm.create({ farmId: atLimit, expectedRevision: detail.revision, name: 'one-more', vifs: [{ vnetId: vnet.id }] }),
      'CONFLICT',
      'vifs',
    );
    expect(e2.message).toBe(`vifs: ${full}`);
    // A VM without a VIF still fits (VMs are far from their own limit); nothing else was written.
    expect((await op.vm.create({ farmId: atLimit, expectedRevision: detail.revision, name: 'no-vifs' })).farmRevision).toBe(detail.revision + 1);
    expect(await f.db.vif.count({ where: { vm: { farmId: atLimit } } })).toBe(FARM_LIMITS.vifs);
  }, 60_000);

  it('of VMs refuses vm.create', async () => {
    const op = f.caller(f.operator);
    const r = await op.farm.import({ document: { version: 'softudc.farm/v1', name: 'vms', vms: Array.from({ length: FARM_LIMITS.vms }, (_, i) => ({ name: `v${i}` })) } });
    const e = await expectError(op.vm.create({ farmId: r.id, expectedRevision: r.revision, name: 'extra' }), 'CONFLICT', 'farmId');
    expect(e.message).toBe(`farmId: farm vms already has ${FARM_LIMITS.vms} VMs, the most one farm may hold`);
  }, 120_000);
});

describe('an object at its own limit', () => {
  it('takes no more one at a time (VIFs, interfaces, static routes), and its farm still exports and imports', async () => {
    const op = f.caller(f.operator);
    const n = OBJECT_LIMITS.interfacesPerNode;
    const nets = Array.from({ length: n + 1 }, (_, i) => ({ name: `n${i}`, cidr: `10.${i}.0.0/24` }));
    const full = nets.slice(0, n);
    const routes = Array.from({ length: OBJECT_LIMITS.staticRoutesPerRouter }, (_, i) => ({ destination: `172.16.${i >> 8}.${i & 0xff}/32`, nextHop: '10.0.0.200' }));
    const r = await op.farm.import({
      document: {
        version: 'softudc.farm/v1',
        name: 'objects-full',
        vnets: nets,
        vms: [{ name: 'vm', vifs: nets.slice(0, OBJECT_LIMITS.vifsPerVm).map((v) => ({ vnet: v.name })) }],
        routers: [
          { name: 'r', interfaces: full.map((v) => ({ vnet: v.name })) },
          { name: 'routes', interfaces: [{ vnet: 'n0', ip: '10.0.0.2' }], staticRoutes: routes },
        ],
        firewalls: [{ name: 'fw', interfaces: full.map((v, i) => ({ name: `i${i}`, vnet: v.name })) }],
      },
    });
    const d = await op.farm.get({ id: r.id });
    const extra = d.vnets.find((v) => v.name === `n${n}`)!;
    const [vm, router, routed, fw] = [d.vms[0]!, d.routers.find((x) => x.name === 'r')!, d.routers.find((x) => x.name === 'routes')!, d.firewalls[0]!];
    const rev = d.revision;
    const e1 = await expectError(op.vif.create({ vmId: vm.id, expectedRevision: rev, vnetId: extra.id }), 'CONFLICT', 'vmId');
    expect(e1.message).toBe(`vmId: VM vm already has ${OBJECT_LIMITS.vifsPerVm} VIFs, the most one may hold`);
    const e2 = await expectError(op.router.addInterface({ routerId: router.id, expectedRevision: rev, vnetId: extra.id }), 'CONFLICT', 'routerId');
    expect(e2.message).toBe(`routerId: router r already has ${n} interfaces, the most one may hold`);
    const e3 = await expectError(op.firewall.addInterface({ firewallId: fw.id, expectedRevision: rev, name: 'more', vnetId: extra.id }), 'CONFLICT', 'firewallId');
    expect(e3.message).toBe(`firewallId: firewall fw already has ${n} interfaces, the most one may hold`);
    const e4 = await expectError(
      op.router.addStaticRoute({ routerId: routed.id, expectedRevision: rev, destination: '172.31.0.0/16', nextHop: '10.0.0.200' }),
      'CONFLICT',
      'routerId',
    );
    expect(e4.message).toBe(`routerId: router routes already has ${OBJECT_LIMITS.staticRoutesPerRouter} static routes, the most one may hold`);
    // Nothing was written, and what the farm holds exports and imports again.
    expect((await op.farm.get({ id: r.id })).revision).toBe(rev);
    const doc = await op.farm.export({ id: r.id });
    expect(doc.vms[0]!.vifs).toHaveLength(OBJECT_LIMITS.vifsPerVm);
    expect((await op.farm.import({ document: doc, name: 'objects-again', vnids: 'auto' })).counts.routers).toBe(2);
  }, 120_000);
});

describe('request bodies', () => {
  it(`past ${MAX_BODY_BYTES} bytes are refused with 413 before they are read`, async () => {
    const { token } = await f.caller(f.operator).apiToken.create({ name: 'big', role: 'operator' });
    const body = JSON.stringify({ json: { document: { version: 'softudc.farm/v1', name: 'huge', description: 'x'.repeat(MAX_BODY_BYTES) } } });
    const r = await fetch(`${server.url}/farm.import`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    expect(r.status).toBe(413);
    const j = (await r.json()) as { error: { json: { message: string; data: { code: string } } } };
    expect(j.error.json.data.code).toBe('PAYLOAD_TOO_LARGE');
    expect(j.error.json.message).toBe(`body: at most ${MAX_BODY_BYTES} bytes per request`);
    expect(await farmRows('huge')).toBe(0);
  });
});
