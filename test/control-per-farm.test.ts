// Recompiles per changed farm: a deploy compiles the farm it changes, takes
// every other farm's stored part as it is, and writes states only for the
// hosts that farm reaches (before or after) and their segments' relays. Router
// links travel on vnet ids stored with the links, unique across farms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState } from '../server/compile/index.ts';
import { LINK_VNID_MIN, LINK_VNID_TOP } from '../contract/limits.ts';
import { refreshDesiredStates } from '../server/control/desiredState.ts';
import { buildFarm, refusedWith, setupControl, type Caller, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

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

const part = (farmId: string) => f.db.farmContribution.findUnique({ where: { farmId } });
const stored = (hostId: string) => f.db.hostDesiredState.findUnique({ where: { hostId } });

/** Two routers of a farm on two hosts, linked: the link crosses hosts and gets a vnet. */
async function linkedRouters(op: Caller, farmId: string, revision: number, a: string, b: string) {
  const ra = await op.router.create({ farmId, expectedRevision: revision, name: 'ra', hostId: a });
  const rb = await op.router.create({ farmId, expectedRevision: ra.farmRevision, name: 'rb', hostId: b });
  const l = await op.router.link({ expectedRevision: rb.farmRevision, routerAId: ra.router.id, routerBId: rb.router.id });
  return { revision: l.farmRevision, ra: ra.router.id, rb: rb.router.id };
}

const linkVnets = (s: HostState) => s.routers.flatMap((r) => r.links.map((l) => l.vnet)).filter((v): v is number => v !== null);

describe('per-farm recompile', () => {
  it('deploying farm B neither recompiles farm A nor decides the hosts only A runs on', async () => {
    const op = f.caller(f.operator);
    const a = await buildFarm(op, {
      name: 'alpha',
      vnets: [{ name: 'net', cidr: '10.61.0.0/24', vnid: 6100 }],
      vms: [{ name: 'a-1', hostId: h1.id, vnets: ['net'] }, { name: 'a-2', hostId: h2.id, vnets: ['net'] }],
    });
    await op.farm.deploy({ id: a.id });
    const partA = await part(a.id);
    expect(partA).toMatchObject({ revision: a.revision, hostIds: [h1.id, h2.id] });

    // Marks no compile would write: if A were recompiled its part would lose the mark,
    // and if h1 were decided again its stored hash would be replaced with a new generation.
    const realHash = (await stored(h1.id))!.hash;
    await f.db.farmContribution.update({ where: { farmId: a.id }, data: { warnings: ['mark: stored part of alpha'] } });
    await f.db.hostDesiredState.update({ where: { hostId: h1.id }, data: { hash: 'mark: not recomputed' } });
    const markedA = await part(a.id);
    const h1Before = await stored(h1.id);

    const b = await buildFarm(op, {
      name: 'beta',
      vnets: [{ name: 'net', cidr: '10.62.0.0/24', vnid: 6200 }],
      vms: [{ name: 'b-1', hostId: h2.id, vnets: ['net'] }, { name: 'b-2', hostId: h3.id, vnets: ['net'] }],
    });
    const r = await op.farm.deploy({ id: b.id });
    // h2 is shared, h3 is B's alone; h1 runs only A and is not touched.
    expect(r.deployment.targets.map((t) => t.host).sort()).toEqual(['h2', 'h3']);
    expect(await part(a.id)).toEqual(markedA);
    expect(await stored(h1.id)).toEqual(h1Before);
    // A's warnings (its stored part's) are not B's business.
    expect(r.warnings).toEqual([]);

    // On the shared host, A's items stand beside B's, taken from A's stored part.
    const s2 = (await stored(h2.id))!.state as unknown as HostState;
    expect(s2.vnets.map((v) => [v.id, v.farm, v.peers])).toEqual([[6100, a.id, ['127.0.0.2']], [6200, b.id, ['127.0.0.4']]]);
    expect(s2.vifs.map((v) => v.farm).sort()).toEqual([a.id, b.id].sort());

    // Changing B again (a VM onto h4, off h3) decides h2, h3 (no longer B's) and h4, never h1.
    const moved = await op.vm.update({ id: b.vms['b-2']!.id, expectedRevision: b.revision, hostId: h4.id });
    const r2 = await op.farm.deploy({ id: b.id, expectedRevision: moved.farmRevision });
    expect(r2.deployment.targets.map((t) => t.host).sort()).toEqual(['h2', 'h3', 'h4']);
    expect(((await stored(h3.id))!.state as unknown as HostState).vifs).toEqual([]);
    expect(await stored(h1.id)).toEqual(h1Before);
    expect(await part(a.id)).toEqual(markedA);

    // A recompute of every host gives h1 its real hash back (no new state: the content is the same)...
    await f.db.hostDesiredState.update({ where: { hostId: h1.id }, data: { hash: realHash } });
    // ...and after the incremental deploys, a full recompute from scratch finds nothing to change.
    await f.db.farmContribution.deleteMany({});
    expect((await refreshDesiredStates({ db: f.db })).changed).toEqual([]);
    expect((await part(a.id))!.warnings).toEqual([]);
  });

  it('undeploying a farm drops its part and decides only its hosts', async () => {
    const op = f.caller(f.operator);
    const c = await buildFarm(op, {
      name: 'gamma',
      vnets: [{ name: 'net', cidr: '10.63.0.0/24', vnid: 6300 }],
      vms: [{ name: 'c-1', hostId: h4.id, vnets: ['net'] }, { name: 'c-2', hostId: h3.id, vnets: ['net'] }],
    });
    await op.farm.deploy({ id: c.id });
    expect(await part(c.id)).not.toBeNull();
    const r = await op.farm.undeploy({ id: c.id });
    expect(r.deployment.targets.map((t) => t.host).sort()).toEqual(['h3', 'h4']);
    expect(await part(c.id)).toBeNull();
    expect((await refreshDesiredStates({ db: f.db })).changed).toEqual([]);
  });
});

describe('router link vnets', () => {
  it('are stored with the links, above every vnet, and never collide across farms and tenants', async () => {
    const mine = f.caller(f.operator);
    const theirs = f.caller(f.otherOperator);
    const p = await buildFarm(mine, { name: 'links-a', vnets: [{ name: 'n', cidr: '10.64.0.0/24' }], vms: [] });
    const q = await buildFarm(theirs, { name: 'links-b', vnets: [{ name: 'n', cidr: '10.65.0.0/24' }], vms: [] });
    const lp = await linkedRouters(mine, p.id, p.revision, h1.id, h2.id);
    const lq = await linkedRouters(theirs, q.id, q.revision, h1.id, h2.id);
    await mine.farm.deploy({ id: p.id });
    await theirs.farm.deploy({ id: q.id });

    const rows = await f.db.routerLink.findMany({ where: { farmId: { in: [p.id, q.id] } }, select: { farmId: true, vnid: true } });
    const vnidP = Number(rows.find((r) => r.farmId === p.id)!.vnid);
    const vnidQ = Number(rows.find((r) => r.farmId === q.id)!.vnid);
    expect(vnidP).not.toBe(vnidQ);
    for (const v of [vnidP, vnidQ]) expect(v >= LINK_VNID_MIN && v <= LINK_VNID_TOP).toBe(true);
    const vnets = await f.db.vnet.findMany({ select: { vnid: true } });
    expect(vnets.every((v) => Number(v.vnid) < LINK_VNID_MIN)).toBe(true);

    // Both links cross h1 and h2: each host carries both link vnets, each with its own id.
    const s1 = (await stored(h1.id))!.state as unknown as HostState;
    expect(linkVnets(s1).sort()).toEqual([vnidP, vnidQ].sort());
    expect(s1.vnets.filter((v) => v.id >= LINK_VNID_MIN).map((v) => [v.id, v.farm]).sort()).toEqual([[vnidP, p.id], [vnidQ, q.id]].sort());

    // A link added later gets a fresh id; the existing ones keep theirs through redeploys of either farm.
    const r3 = await mine.router.create({ farmId: p.id, expectedRevision: lp.revision, name: 'rc', hostId: h3.id });
    const l3 = await mine.router.link({ expectedRevision: r3.farmRevision, routerAId: lp.ra, routerBId: r3.router.id });
    await mine.farm.deploy({ id: p.id, expectedRevision: l3.farmRevision });
    const after = (await stored(h1.id))!.state as unknown as HostState;
    const all = linkVnets(after);
    expect(new Set(all).size).toBe(3);
    expect(all).toEqual(expect.arrayContaining([vnidP, vnidQ]));
    expect(lq.revision).toBeGreaterThan(0);

    // A vnet can never take an id from the links' range.
    await refusedWith(mine.vnet.create({ farmId: p.id, expectedRevision: l3.farmRevision, name: 'high', cidr: '10.66.0.0/24', vnid: vnidP }), 'BAD_REQUEST');
  });
});

describe('per-farm recompile across LAN segments and relays', () => {
  it('decides the relays a farm crosses and leaves every host as a recompute of all would', async () => {
    const admin = f.caller(f.admin);
    const op = f.caller(f.operator);
    const w = [];
    for (let i = 1; i <= 6; i++) w.push(await f.host(`w${i}`, `127.0.1.${i}`));
    const [w1, w2, w3, w4, w5, w6] = w as [EnrolledHost, EnrolledHost, EnrolledHost, EnrolledHost, EnrolledHost, EnrolledHost];
    // A unicast-only LAN whose relay proxies, and a multicast LAN with a plain relay.
    const s1 = await admin.segment.create({ name: 'lan-1', multicast: false, relayHostId: w1.id, proxyMode: true });
    const s2 = await admin.segment.create({ name: 'lan-2', multicast: true, multicastGroup: '224.10.0.9', relayHostId: w4.id });
    for (const [h, s] of [[w2, s1], [w3, s1], [w5, s2], [w6, s2]] as const) await admin.host.update({ id: h.id, segmentId: s.id });
    const settled = async () => expect((await refreshDesiredStates({ db: f.db })).changed).toEqual([]);

    const x = await buildFarm(op, {
      name: 'wide',
      vnets: [{ name: 'net', cidr: '10.71.0.0/24', vnid: 7100, security: 'conf' }],
      vms: [{ name: 'x-1', hostId: w2.id, vnets: ['net'] }, { name: 'x-2', hostId: w5.id, vnets: ['net'] }],
    });
    const rx = await op.farm.deploy({ id: x.id });
    // Its carriers, and the proxy relay of lan-1, which carries the sealed vnet with its keys (lan-2's relay
    // relays by multicast and its state does not change).
    expect(rx.deployment.targets.map((t) => t.host).sort()).toEqual(['w1', 'w2', 'w5']);
    const relay = (await stored(w1.id))!.state as unknown as HostState;
    expect(relay.vnets.find((v) => v.id === 7100)?.keys?.length).toBeGreaterThan(0);
    await settled();

    const y = await buildFarm(op, {
      name: 'local',
      vnets: [{ name: 'net', cidr: '10.72.0.0/24', vnid: 7200 }],
      vms: [{ name: 'y-1', hostId: w3.id, vnets: ['net'] }, { name: 'y-2', hostId: w2.id, vnets: ['net'] }],
    });
    await op.farm.deploy({ id: y.id });
    await settled();
    // Y spreads to the other LAN: now it crosses the relays too.
    const moved = await op.vm.update({ id: y.vms['y-1']!.id, expectedRevision: y.revision, hostId: w6.id });
    const ry = await op.farm.deploy({ id: y.id, expectedRevision: moved.farmRevision });
    expect(ry.deployment.targets.map((t) => t.host)).toEqual(expect.arrayContaining(['w1', 'w3', 'w6']));
    await settled();
    await op.farm.undeploy({ id: x.id });
    await settled();
    // And from scratch: every part recompiled gives the same states.
    await f.db.farmContribution.deleteMany({});
    await settled();
  });
});

// A recompute about one farm that has to decide every host (the farm runs on
// hosts without a stored part) still gives its caller that farm's warnings
// alone: other tenants' warnings name their farms, VMs and hosts.
describe('warnings of a farm plan or deploy', () => {
  it("never carry another farm's warnings, even when every host is decided", async () => {
    const a = f.caller(f.operator);
    const b = f.caller(f.otherOperator);
    const farmB = await buildFarm(b, { name: 'secret-b', vnets: [{ name: 'lan', cidr: '10.71.0.0/24' }], vms: [{ name: 'b-1', hostId: h2.id, vnets: ['lan'] }] });
    await b.farm.deploy({ id: farmB.id });
    // B's stored part carries a warning naming B's things.
    await f.db.farmContribution.update({ where: { farmId: farmB.id }, data: { warnings: ['secret-b/b-1: a warning of tenant b'] } });

    const farmA = await buildFarm(a, { name: 'mine-a', vnets: [{ name: 'lan', cidr: '10.72.0.0/24' }], vms: [{ name: 'a-1', hostId: h1.id, vnets: ['lan'] }] });
    await a.farm.deploy({ id: farmA.id });
    // A runs on h1 but its stored part is gone: its next recompute decides every host.
    await f.db.farmContribution.delete({ where: { farmId: farmA.id } });

    const plan = await f.caller(f.viewer).farm.plan({ id: farmA.id });
    expect(plan.warnings).toEqual([]);
    const r = await a.farm.deploy({ id: farmA.id });
    expect(r.warnings).toEqual([]);
    expect(JSON.stringify(r)).not.toMatch(/secret-b|tenant b/);
    // B's part was reused as it was: its warning is still B's.
    expect((await f.db.farmContribution.findUnique({ where: { farmId: farmB.id }, select: { warnings: true } }))!.warnings).toEqual(['secret-b/b-1: a warning of tenant b']);
  });
});
