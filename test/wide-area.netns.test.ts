// Wide-area vnets (seed 002, spec "RELAY"): two LAN segments, 198.18.1.0/24
// and 198.18.2.0/24, each a kernel bridge with multicast, joined by a router
// namespace that forwards unicast only (multicast stays on its segment). One
// agent per segment runs the vnetd role. Guests (kernel namespaces behind TAP
// devices) on the two segments resolve and reach each other only once the
// relays are configured; with direct unicast between the segments blocked by
// nftables in the router, proxy mode carries the traffic through the relays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, addHost, addSegment, pingCount, pingUntil, tapVif, type FullState } from './overlay-fixture.ts';

const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/sbin/nft') && hasCommand('/usr/bin/curl'),
  'the wide-area test needs root, `ip netns`, the TAP addon, bin/softudc-agent.js, nft and curl (bash .ci/install-deps.sh)',
);

const GROUP = '224.10.0.1';
const S1A = '198.18.1.1';
const S1R = '198.18.1.2';
const S2A = '198.18.2.1';
const S2R = '198.18.2.2';
/** Admission, as the console lists it: the segment's other hosts, and the carriers behind the relays (their answers come straight). */
const MEMBERS: Record<string, string[]> = { [S1A]: [S1R, S2A], [S1R]: [S1A], [S2A]: [S2R, S1A], [S2R]: [S2A] };
/** Short VARP lifetime: caches move to a new path within seconds of a topology change. */
const VARP = { lifetimeMs: 5000, requestIntervalMs: 1000, failedHoldMs: 500 };

describe.skipIf(!ok)('two LAN segments joined by vnetd relays', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let router: string;
  let a1: OverlayAgent;
  let r1: OverlayAgent;
  let a2: OverlayAgent;
  let r2: OverlayAgent;
  const g1 = h.name('wg1');
  const g2 = h.name('wg2');
  const v1 = tapVif('wg1/eth0', 100, 1, g1);
  const v2 = tapVif('wg2/eth0', 100, 2, g2);

  function host(name: string, address: string, vifs: FullState['vifs']): FullState {
    return {
      host: name,
      generation: 1,
      underlay: { address, port: 1798, multicast: GROUP, peers: [], members: MEMBERS[address] },
      vnets: [{ id: 100, security: 'none', mtu: 1400 }],
      vifs,
      varp: VARP,
      relay: null,
    };
  }
  const relayOn = (peer: string, proxy: boolean) => (s: FullState) => ({ ...s, relay: { enabled: true, peers: [peer], proxy } });

  beforeAll(async () => {
    dir = await stateDir();
    router = await h.addNs('wrt');
    await h.mustExec(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await addSegment(h, router, 'br1', '198.18.1');
    await addSegment(h, router, 'br2', '198.18.2');
    const ns = {
      a1: await addHost(h, router, 'br1', 'w1a', S1A),
      r1: await addHost(h, router, 'br1', 'w1r', S1R),
      a2: await addHost(h, router, 'br2', 'w2a', S2A),
      r2: await addHost(h, router, 'br2', 'w2r', S2R),
    };
    h.track(g1);
    h.track(g2);
    a1 = new OverlayAgent(h, ns.a1, `${dir.dir}/a1.json`, host('a1', S1A, [v1]));
    r1 = new OverlayAgent(h, ns.r1, `${dir.dir}/r1.json`, host('r1', S1R, []));
    a2 = new OverlayAgent(h, ns.a2, `${dir.dir}/a2.json`, host('a2', S2A, [v2]));
    r2 = new OverlayAgent(h, ns.r2, `${dir.dir}/r2.json`, host('r2', S2R, []));
    await Promise.all([a1, r1, a2, r2].map((a) => a.start()));
  });

  afterAll(async () => {
    for (const a of [a1, r1, a2, r2]) await a?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  it('the segments route unicast to each other but not the VARP group', async () => {
    await h.mustExec(h.name('w1a'), 'ping', ['-n', '-c', '1', '-W', '2', S2A]);
    const r = await pingCount(h, g1, '10.100.0.2', ['-c', '3', '-i', '0.3', '-W', '1']);
    console.log(`without relays: g1 → g2 ${r.received}/${r.sent}`);
    expect(r.received).toBe(0);
    expect(await a2.counter('softudc_varp_requests_received_total')).toBe(0);
  });

  it('with the relays on, guests resolve and reach across; hosts talk directly', async () => {
    await Promise.all([r1.update(relayOn(S2R, false)), r2.update(relayOn(S1R, false))]);
    expect(await pingUntil(h, g1, '10.100.0.2')).toBe(true);
    const r = await pingCount(h, g1, '10.100.0.2', ['-c', '20', '-i', '0.05', '-W', '1']);
    const back = await pingCount(h, g2, '10.100.0.1', ['-c', '10', '-i', '0.05', '-W', '1']);
    console.log(`relays: g1 → g2 ${r.received}/${r.sent}, g2 → g1 ${back.received}/${back.sent}`);
    expect(r.received).toBe(20);
    expect(back.received).toBe(10);
    // Unicast never passes a vnetd: a1 cached g2 at a2's own COA.
    expect(await a1.entry(v2.mac)).toMatchObject({ coa: S2A, proxy: false });
    expect(await r1.counter('softudc_relay_relayed_out_total{kind="varp"}')).toBeGreaterThan(0);
    expect(await r2.counter('softudc_relay_relayed_in_total{kind="varp"}')).toBeGreaterThan(0);
    expect(await r2.counter('softudc_relay_reflooded_total{kind="varp"}')).toBeGreaterThan(0);
    expect(await a2.counter('softudc_varp_relayed_requests_answered_total')).toBeGreaterThan(0);
  });

  it('with direct unicast blocked, proxy mode carries the traffic through the relays', async () => {
    const nft = (args: string) => h.mustExec(router, 'nft', args.split(' '));
    await nft('add table inet sdwan');
    await nft('add chain inet sdwan xfwd { type filter hook forward priority 0 ; policy accept ; }');
    await nft(`add rule inet sdwan xfwd ip saddr ${S1R} ip daddr ${S2R} accept`);
    await nft(`add rule inet sdwan xfwd ip saddr ${S2R} ip daddr ${S1R} accept`);
    await nft('add rule inet sdwan xfwd ip saddr 198.18.1.0/24 ip daddr 198.18.2.0/24 counter drop');
    await nft('add rule inet sdwan xfwd ip saddr 198.18.2.0/24 ip daddr 198.18.1.0/24 counter drop');
    // The direct path is gone: once the caches notice, nothing crosses.
    await new Promise((r) => setTimeout(r, VARP.lifetimeMs + 1000));
    const blocked = await pingCount(h, g1, '10.100.0.2', ['-c', '3', '-i', '0.3', '-W', '1']);
    console.log(`direct unicast blocked, no proxy: g1 → g2 ${blocked.received}/${blocked.sent}`);
    expect(blocked.received).toBe(0);

    await Promise.all([r1.update(relayOn(S2R, true)), r2.update(relayOn(S1R, true))]);
    expect(await pingUntil(h, g1, '10.100.0.2', 30_000)).toBe(true);
    const fwdBefore = await r1.counter('softudc_relay_proxy_forwarded_frames_total{to="far"}');
    const r = await pingCount(h, g1, '10.100.0.2', ['-c', '30', '-i', '0.05', '-W', '1']);
    const back = await pingCount(h, g2, '10.100.0.1', ['-c', '10', '-i', '0.05', '-W', '1']);
    console.log(`proxy mode: g1 → g2 ${r.received}/${r.sent}, g2 → g1 ${back.received}/${back.sent}`);
    expect(r.received).toBeGreaterThanOrEqual(29);
    expect(back.received).toBeGreaterThanOrEqual(9);
    // Each side points at its own relay, and the relays forwarded the frames.
    expect(await a1.entry(v2.mac)).toMatchObject({ coa: S1R, proxy: true });
    expect(await a2.entry(v1.mac)).toMatchObject({ coa: S2R, proxy: true });
    expect((await r1.counter('softudc_relay_proxy_forwarded_frames_total{to="far"}')) - fwdBefore).toBeGreaterThanOrEqual(29);
    expect(await r2.counter('softudc_relay_proxy_forwarded_frames_total{to="lan"}')).toBeGreaterThanOrEqual(29);
    const rules = await h.mustExec(router, 'nft', ['list', 'chain', 'inet', 'sdwan', 'xfwd']);
    console.log(`router drops of direct cross-segment unicast: ${[...rules.matchAll(/packets (\d+)/g)].map((m) => m[1]).join(', ')}`);
  });
});
