// Live migration end to end on the network side (seed 002 "migration", spec
// "VARP"): a kernel guest on host P pings a VM every 10 ms while the VM's VIF
// moves from agent A to agent B with a higher location version; the new host
// sends its GRATUITOUS ANNOUNCE, the old one its WITHDRAW. Three hosts on one
// LAN segment with the VARP multicast group. The VM is an emulated guest: its
// MAC and address stay, only the agent behind it changes, so what is measured
// is the dataplane's part of the interruption (the hypervisor's pause is not).
//
// Then the live migration as a hypervisor does it (docs/operations.md "Live
// migration of a VM"): the destination's state lists the VIF `incoming`
// and the source's lists it `outgoing` before the move, the VM is a kernel in
// a namespace behind a veth on each host (the host end stands for the VM's
// TAP), paused on A and resumed on B; its first frame on B activates the VIF
// there, and A lets it go on B's ANNOUNCE. Before A's VIF is outgoing, a
// forged ANNOUNCE of a higher version does not take it off the network.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, addHost, addSegment, continuousPing, inject, pingUntil, tapVif, type FullState, type PingRun } from './overlay-fixture.ts';
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, encodeFrame, encodeVarp, parseIp, parseMac } from '../agent/wire/index.ts';
import { udpFrame } from '../agent/switch/testing.ts';

const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/bin/curl'),
  'the migration test needs root, `ip netns`, the TAP addon, bin/softudc-agent.js and curl (bash .ci/install-deps.sh)',
);

const P = '198.18.3.1';
const A = '198.18.3.2';
const B = '198.18.3.3';
const VM_MAC = '02:5d:00:00:64:14';
const VM_IP = '10.100.0.20';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ok)('migration under a 10 ms ping', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let p: OverlayAgent;
  let a: OverlayAgent;
  let b: OverlayAgent;
  const g0 = h.name('mg0');
  const results: Array<{ order: string; run: PingRun }> = [];
  const vm = (version: number) => ({ id: 'vm/eth0', vnet: 100, mac: VM_MAC, ip: `${VM_IP}/24`, version, guest: { kind: 'emulated' } });

  function host(name: string, address: string, vifs: FullState['vifs']): FullState {
    // Admission: with multicast, the segment's other hosts are listed as members.
    const members = [P, A, B].filter((x) => x !== address);
    return { host: name, generation: 1, underlay: { address, port: 1798, multicast: '224.10.0.1', peers: [], members }, vnets: [{ id: 100, security: 'none', mtu: 1400 }], vifs };
  }

  /**
   * Moves the VM from `from` to `to` with location version `version` while
   * g0 pings it. `newFirst`: the console's order (the new host attaches, then
   * the old one detaches); otherwise the old host lets go first, as when the
   * VM is paused before it resumes elsewhere.
   */
  async function migrate(from: OverlayAgent, to: OverlayAgent, version: number, newFirst: boolean): Promise<PingRun> {
    const ping = continuousPing(h, g0, VM_IP, 10);
    await sleep(1000);
    const attach = () => to.update((s) => ({ ...s, vifs: [...s.vifs, vm(version)] }));
    const detach = () => from.update((s) => ({ ...s, vifs: s.vifs.filter((v) => v.id !== 'vm/eth0') }));
    if (newFirst) {
      await attach();
      await detach();
    } else {
      await Promise.all([detach(), sleep(5).then(attach)]);
    }
    await sleep(1500);
    return ping.stop();
  }

  beforeAll(async () => {
    dir = await stateDir();
    const sw = await h.addNs('msw');
    await addSegment(h, sw, 'br0', '198.18.3');
    const ns = { p: await addHost(h, sw, 'br0', 'mhp', P), a: await addHost(h, sw, 'br0', 'mha', A), b: await addHost(h, sw, 'br0', 'mhb', B) };
    h.track(g0);
    p = new OverlayAgent(h, ns.p, `${dir.dir}/p.json`, host('hp', P, [tapVif('mg0/eth0', 100, 10, g0)]));
    a = new OverlayAgent(h, ns.a, `${dir.dir}/a.json`, host('ha', A, [vm(1)]));
    b = new OverlayAgent(h, ns.b, `${dir.dir}/b.json`, host('hb', B, []));
    await Promise.all([p.start(), a.start(), b.start()]);
    expect(await pingUntil(h, g0, VM_IP)).toBe(true);
  });

  afterAll(async () => {
    for (const x of [p, a, b]) await x?.stop();
    await h.cleanup();
    await dir?.remove();
    if (results.length > 0) {
      console.log('\nMigration, 10 ms ping from a kernel guest (lost = requests without a reply; gap = longest time between two replies)');
      for (const r of results) console.log(`  ${r.order}: lost ${r.run.lost} of ${r.run.received + r.run.lost}, longest gap ${r.run.gapMs.toFixed(1)} ms (${r.run.lostInGap} lost in it)`);
    }
  });

  it('A → B in the console order (attach on B, then detach on A) loses at most 2 packets', async () => {
    const run = await migrate(a, b, 2, true);
    results.push({ order: 'A → B, new host first', run });
    expect(run.lost).toBeLessThanOrEqual(2);
    expect(await p.entry(VM_MAC)).toMatchObject({ coa: B, version: 2, state: 'REACHABLE' });
    expect(await p.counter('softudc_varp_gratuitous_received_total')).toBeGreaterThan(0);
  });

  it('B → A, old host first (the VM paused between), loses at most 2 packets', async () => {
    const run = await migrate(b, a, 3, false);
    results.push({ order: 'B → A, old host first', run });
    expect(run.lost).toBeLessThanOrEqual(2);
    expect(await p.entry(VM_MAC)).toMatchObject({ coa: A, version: 3 });
    expect(await p.counter('softudc_varp_withdraws_received_total')).toBeGreaterThan(0);
  });

  it('keeps the bound over repeated moves, and a late ANNOUNCE from an old location does not pull the VM back', async () => {
    for (let i = 0; i < 3; i++) {
      const run = await migrate(i % 2 === 0 ? a : b, i % 2 === 0 ? b : a, 4 + i, true);
      results.push({ order: `${i % 2 === 0 ? 'A → B' : 'B → A'}, new host first (repeat ${i + 1})`, run });
      expect(run.lost).toBeLessThanOrEqual(2);
    }
    expect(await p.entry(VM_MAC)).toMatchObject({ coa: B, version: 6 });
    // A's GRATUITOUS ANNOUNCE of version 5, delayed in the network, arrives now.
    const late = encodeVarp({ opcode: VARP_ANNOUNCE, vnet: 100, mac: parseMac(VM_MAC), flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, ip: parseIp(VM_IP), coa: parseIp(A), nonce: 0, version: 5 });
    const stale = await p.counter('softudc_varp_messages_ignored_total{reason="stale_version"}');
    await inject(h, h.name('mha'), A, P, [late]);
    await sleep(200);
    expect(await p.counter('softudc_varp_messages_ignored_total{reason="stale_version"}')).toBe(stale + 1);
    expect(await p.entry(VM_MAC)).toMatchObject({ coa: B, version: 6 });
  });
});

const LP = '198.18.13.1';
const LA = '198.18.13.2';
const LB = '198.18.13.3';
const LVM_MAC = '02:5d:00:00:65:14';
const LVM_IP = '10.101.0.20';

describe.skipIf(!ok)('live migration of a VM, the destination VIF attached incoming beforehand', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let p: OverlayAgent;
  let a: OverlayAgent;
  let b: OverlayAgent;
  const g0 = h.name('livemig-g0');
  const ns = { vmA: '', vmB: '', a: '', b: '' };
  const results: PingRun[] = [];
  let activateMs = Number.NaN;
  /** The VM's VIF: a "VM" guest, whose TAP (here a veth's host end `lmvm`) exists before the agent attaches to it. */
  const vm = (version: number, extra: Record<string, unknown> = {}) => ({ id: 'vm/eth0', vnet: 101, mac: LVM_MAC, ip: `${LVM_IP}/24`, version, guest: { kind: 'tap', ifname: 'lmvm' }, ...extra });
  type View = { vifs: { id: string; migration?: { state: string; activatedAt: number | null }; movedTo?: number }[]; counters: Record<string, number> };
  const view = async (x: OverlayAgent) => JSON.parse(await x.admin('/v1/state')) as View;
  const vifOf = async (x: OverlayAgent) => (await view(x)).vifs.find((v) => v.id === 'vm/eth0');

  function host(name: string, address: string, vifs: FullState['vifs']): FullState {
    const members = [LP, LA, LB].filter((x) => x !== address);
    return { host: name, generation: 1, underlay: { address, port: 1798, multicast: '224.10.0.2', peers: [], members }, vnets: [{ id: 101, security: 'none', mtu: 1400 }], vifs };
  }

  /** The VM's kernel on one host: a namespace whose eth0 (the VM's MAC and address, no IPv6) is the peer of `lmvm` in the host's namespace. */
  async function vmNamespace(hostNs: string, short: string, up: boolean): Promise<string> {
    const vmNs = await h.addNs(short);
    for (const k of ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv4.conf.default.arp_notify=1']) await h.mustExec(vmNs, 'sysctl', ['-qw', k]);
    await h.mustExec(hostNs, 'ip', ['link', 'add', 'lmvm', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vmNs]);
    await h.mustExec(vmNs, 'ip', ['link', 'set', 'eth0', 'address', LVM_MAC, 'mtu', '1400']);
    await h.mustExec(vmNs, 'ip', ['addr', 'add', `${LVM_IP}/24`, 'dev', 'eth0']);
    if (up) await h.mustExec(vmNs, 'ip', ['link', 'set', 'eth0', 'up']);
    return vmNs;
  }

  beforeAll(async () => {
    dir = await stateDir();
    const sw = await h.addNs('livemig-sw');
    await addSegment(h, sw, 'br0', '198.18.13');
    ns.a = await addHost(h, sw, 'br0', 'livemig-a', LA);
    ns.b = await addHost(h, sw, 'br0', 'livemig-b', LB);
    const nsP = await addHost(h, sw, 'br0', 'livemig-p', LP);
    h.track(g0);
    ns.vmA = await vmNamespace(ns.a, 'livemig-vma', true);
    ns.vmB = await vmNamespace(ns.b, 'livemig-vmb', false); // QEMU waiting with -incoming: the VM does not run there yet
    p = new OverlayAgent(h, nsP, `${dir.dir}/lp.json`, host('lp', LP, [tapVif('g0/eth0', 101, 10, g0)]));
    a = new OverlayAgent(h, ns.a, `${dir.dir}/la.json`, host('la', LA, [vm(1)]));
    b = new OverlayAgent(h, ns.b, `${dir.dir}/lb.json`, host('lb', LB, []));
    await Promise.all([p.start(), a.start(), b.start()]);
    expect(await pingUntil(h, g0, LVM_IP)).toBe(true);
    // The VM's neighbour table travels with its memory: the resumed VM already knows the pinger.
    const g0Mac = tapVif('g0/eth0', 101, 10, g0).mac;
    await h.mustExec(ns.vmB, 'ip', ['neigh', 'replace', '10.101.0.10', 'lladdr', g0Mac, 'dev', 'eth0', 'nud', 'reachable']);
  });

  afterAll(async () => {
    for (const x of [p, a, b]) await x?.stop();
    await h.cleanup();
    await dir?.remove();
    for (const r of results) {
      console.log(`\nLive migration with an incoming VIF, 10 ms ping from a kernel guest: lost ${r.lost} of ${r.received + r.lost}, longest gap ${r.gapMs.toFixed(1)} ms (${r.lostInGap} lost in it); B activated the VIF ${activateMs.toFixed(0)} ms after the VM resumed`);
    }
  });

  it('a VIF not outgoing ignores a forged GRATUITOUS ANNOUNCE of a higher version: not a ping lost', async () => {
    const ping = continuousPing(h, g0, LVM_IP, 10);
    await sleep(300);
    const ignored = async () => (await view(a)).counters['softudc_varp_messages_ignored_total{reason="announce_for_local"}'] ?? 0;
    const before = await ignored();
    // From B's address, as an admitted peer (or one spoofing its address) can send it.
    const forged = encodeVarp({ opcode: VARP_ANNOUNCE, vnet: 101, mac: parseMac(LVM_MAC), flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, ip: parseIp(LVM_IP), coa: parseIp(LB), nonce: 0, version: 0xffff_ffff });
    await inject(h, ns.b, LB, LA, [forged]);
    await sleep(500);
    const run = await ping.stop();
    expect(run.lost).toBe(0);
    expect(await ignored()).toBe(before + 1);
    const still = await vifOf(a);
    expect(still?.movedTo).toBeUndefined();
    expect((await view(a)).counters['softudc_varp_local_moved_away_total'] ?? 0).toBe(0);
  });

  it('an incoming VIF claims nothing: pings keep reaching the VM on A, and underlay frames with its MAC do not activate it', async () => {
    const ping = continuousPing(h, g0, LVM_IP, 10);
    await sleep(300);
    // The console's move starts: the destination gets the VIF incoming, the source has it outgoing.
    await b.update((s) => ({ ...s, vifs: [...s.vifs, vm(2, { incoming: true })] }));
    await a.update((s) => ({ ...s, vifs: s.vifs.map((v) => (v.id === 'vm/eth0' ? { ...v, outgoing: true } : v)) }));
    expect(await vifOf(b)).toMatchObject({ migration: { state: 'incoming', activatedAt: null } });
    // The VM on A talks to B's host over the underlay: a FRAME with the VM's MAC as source, from A.
    const frame = encodeFrame({ vnet: 101, flags: 0, ethernet: udpFrame(parseMac(LVM_MAC), parseMac('ff:ff:ff:ff:ff:ff'), parseIp(LVM_IP), parseIp('10.101.0.255')) });
    await inject(h, ns.a, LA, LB, [frame, frame]);
    await sleep(700);
    const run = await ping.stop();
    expect(run.lost).toBe(0);
    expect(await vifOf(b)).toMatchObject({ migration: { state: 'incoming' } });
    expect(await p.entry(LVM_MAC)).toMatchObject({ coa: LA, version: 1 });
    expect((await view(b)).counters['softudc_vif_activations_total'] ?? 0).toBe(0);
    expect((await vifOf(a))?.movedTo).toBeUndefined();
  });

  it('the VM resumed on B activates its VIF with its first frame: at most 2 pings lost at 10 ms', async () => {
    const ping = continuousPing(h, g0, LVM_IP, 10);
    await sleep(1000);
    // The hypervisor's switch-over: the VM stops on A and runs on B (its kernel sends a gratuitous ARP as its link comes up).
    const resumedAt = Date.now();
    await Promise.all([h.mustExec(ns.vmA, 'ip', ['link', 'set', 'eth0', 'down']), h.mustExec(ns.vmB, 'ip', ['link', 'set', 'eth0', 'up'])]);
    await sleep(1500);
    const run = await ping.stop();
    results.push(run);
    const vif = await vifOf(b);
    expect(vif).toMatchObject({ migration: { state: 'active' } });
    activateMs = (vif?.migration?.activatedAt ?? Number.NaN) - resumedAt;
    expect(run.lost).toBeLessThanOrEqual(2);
    expect(await p.entry(LVM_MAC)).toMatchObject({ coa: LB, version: 2, state: 'REACHABLE' });
    // A heard the announcement and let its outgoing VIF go, though its state still lists it.
    expect(await vifOf(a)).toMatchObject({ movedTo: 2 });
    expect((await view(b)).counters['softudc_vif_activations_total']).toBe(1);
  });

  it('the console finishes the move: B holds the VIF plainly, A drops it, not a ping lost', async () => {
    const ping = continuousPing(h, g0, LVM_IP, 10);
    await sleep(300);
    await b.update((s) => ({ ...s, vifs: [...s.vifs.filter((v) => v.id !== 'vm/eth0'), vm(2)] }));
    await a.update((s) => ({ ...s, vifs: [] }));
    await sleep(500);
    const run = await ping.stop();
    expect(run.lost).toBe(0);
    expect((await vifOf(b))?.migration).toBeUndefined();
    expect(await vifOf(a)).toBeUndefined();
    expect(await p.entry(LVM_MAC)).toMatchObject({ coa: LB, version: 2 });
  });
});
