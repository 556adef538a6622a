// Live migration end to end on the network side (seed 002 "migration", spec
// "VARP"): a kernel guest on host P pings a VM every 10 ms while the VM's VIF
// moves from agent A to agent B with a higher location version; the new host
// sends its GRATUITOUS ANNOUNCE, the old one its WITHDRAW. Three hosts on one
// LAN segment with the VARP multicast group. The VM is an emulated guest: its
// MAC and address stay, only the agent behind it changes, so what is measured
// is the dataplane's part of the interruption (the hypervisor's pause is not).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, addHost, addSegment, continuousPing, inject, pingUntil, tapVif, type FullState, type PingRun } from './overlay-fixture.ts';
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, encodeVarp, parseIp, parseMac } from '../agent/wire/index.ts';

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
