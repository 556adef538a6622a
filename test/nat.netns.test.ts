// External legs with NAT, end to end with standalone agents. Router r1 has a
// leg on vnet 61 (the guests, 10.61.0.0/24, all on host A) and an external
// leg on vnet 900, bridged to host interface `ext0`, which is cabled to an
// "outside" namespace: a plain Linux machine (198.19.50.1, bridge br0) with
// `python3 -m http.server` and ping. NAT on the leg: SNAT of 10.61.0.0/24 to
// the leg's 198.19.50.2, floating IP 198.19.50.10 ↔ g2 (10.61.0.12), port
// forward tcp 198.19.50.2:8080 → g3 (10.61.0.13):8000; g1 has neither.
// Then the router moves from host A to host B (cabled to the same outside
// bridge) and the time until outside → floating IP answers again is printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, metricSum, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, continuousPing, pingCount, pingUntil, tapVif, type FullState } from './overlay-fixture.ts';
import { OUTSIDE_PAGE, Outside, curl as curlIn, serveGuestPage, udpToClosedPort } from './netns/outside.ts';

const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/bin/curl') && hasCommand('/usr/bin/python3'),
  'the NAT test needs root, `ip netns`, the TAP addon, bin/softudc-agent.js, curl and python3 (bash .ci/install-deps.sh)',
);

const INSIDE = 61;
const EXT = 900;
const OUTSIDE_IP = '198.19.50.1';
const LEG_IP = '198.19.50.2';
const FLOATING = '198.19.50.10';
const LEG_MAC = '02:5d:09:00:00:01';
const G = { g1: '10.61.0.11', g2: '10.61.0.12', g3: '10.61.0.13' };

const router = {
  id: 'r1',
  interfaces: [
    { vnet: INSIDE, mac: '02:5d:00:3d:00:01', ip: '10.61.0.1/24' },
    {
      vnet: EXT,
      mac: LEG_MAC,
      ip: `${LEG_IP}/24`,
      nat: {
        snat: ['10.61.0.0/24'],
        floatingIps: [{ external: FLOATING, internal: G.g2 }],
        portForwards: [{ protocol: 'tcp', external: LEG_IP, externalPort: 8080, internal: G.g3, internalPort: 8000 }],
      },
    },
  ],
  staticRoutes: [{ destination: '0.0.0.0/0', nextHop: OUTSIDE_IP }],
};
const extVnet = { id: EXT, security: 'none' as const, external: { interface: 'ext0', vid: null, mac: LEG_MAC } };

describe.skipIf(!ok)('external legs with NAT', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let outside: Outside;
  let out: string;
  let ha: string;
  let hb: string;
  let a: OverlayAgent;
  let b: OverlayAgent;
  const g = { g1: h.name('ng1'), g2: h.name('ng2'), g3: h.name('ng3') };

  function host(name: string, address: string, peer: string, vifs: FullState['vifs'], withRouter: boolean): FullState {
    return {
      host: name,
      generation: 1,
      underlay: { address, port: 1798, multicast: null, peers: [peer] },
      vnets: [{ id: INSIDE, security: 'none', mtu: 1400 }, ...(withRouter ? [extVnet] : [])],
      vifs,
      ...({ routers: withRouter ? [router] : [] } as object),
    };
  }

  const curl = (ns: string, url: string) => curlIn(h, ns, url);

  beforeAll(async () => {
    dir = await stateDir();
    ha = await h.addNs('nha');
    hb = await h.addNs('nhb');
    await h.veth({ ns: ha, ifname: 'u0', cidr: '198.18.0.1/24' }, { ns: hb, ifname: 'u0', cidr: '198.18.0.2/24' });
    // The outside: a bridge with the server's address, cabled to both hosts' ext0 (no addresses on ext0).
    outside = await Outside.start(h, 'nout', OUTSIDE_IP, 24, dir.dir);
    out = outside.ns;
    await outside.cable(ha, 'ext0', 'pa');
    await outside.cable(hb, 'ext0', 'pb');
    // Even if the outside routes the inside prefix to the router, it must not get in.
    await h.mustExec(out, 'ip', ['route', 'add', '10.61.0.0/24', 'via', LEG_IP]);
    for (const n of Object.values(g)) h.track(n);
    const vifs = [tapVif('ng1/eth0', INSIDE, 11, g.g1), tapVif('ng2/eth0', INSIDE, 12, g.g2), tapVif('ng3/eth0', INSIDE, 13, g.g3)];
    a = new OverlayAgent(h, ha, `${dir.dir}/a.json`, host('ha', '198.18.0.1', '198.18.0.2', vifs, true));
    b = new OverlayAgent(h, hb, `${dir.dir}/b.json`, host('hb', '198.18.0.2', '198.18.0.1', [], false));
    await Promise.all([a.start(), b.start()]);
    for (const [name, ns] of Object.entries(g)) {
      await h.mustExec(ns, 'ip', ['route', 'add', 'default', 'via', '10.61.0.1']);
      await serveGuestPage(h, ns, name, dir.dir);
    }
    await new Promise((r) => setTimeout(r, 800)); // the HTTP servers bind
  }, 120_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  it('a guest reaches the outside server through SNAT: the outside sees the leg address', async () => {
    expect(await pingUntil(h, g.g1, OUTSIDE_IP)).toBe(true);
    const r = await curl(g.g1, outside.url);
    expect(r.stdout).toBe(OUTSIDE_PAGE);
    const clients = await outside.clients();
    console.log(`SNAT: g1 → outside HTTP ok; the server saw client(s) ${clients.join(', ')}`);
    expect(clients).toContain(LEG_IP);
    expect(clients).not.toContain(G.g1);
    // g2 leaves from its floating IP.
    outside.clearLog();
    expect((await curl(g.g2, outside.url)).stdout).toBe(OUTSIDE_PAGE);
    expect(await outside.clients()).toEqual([FLOATING]);
  });

  it('the outside reaches a guest through its floating IP and through a port forward', async () => {
    expect(await pingUntil(h, out, FLOATING, 10_000)).toBe(true);
    const p = await pingCount(h, out, FLOATING, ['-c', '5', '-i', '0.1', '-W', '1']);
    expect(p.received).toBe(5);
    expect((await curl(out, `http://${FLOATING}:8000/`)).stdout).toBe('guest g2\n');
    expect((await curl(out, `http://${LEG_IP}:8080/`)).stdout).toBe('guest g3\n');
    // The leg's own address answers pings (the router's).
    expect((await pingCount(h, out, LEG_IP, ['-c', '2', '-i', '0.1', '-W', '1'])).received).toBe(2);
    console.log(`floating IP: ping ${p.received}/${p.sent}, HTTP to g2 ok; port forward ${LEG_IP}:8080 → g3:8000 ok`);
  });

  it('a guest without a floating IP or forward is unreachable, even routed to directly; the drops are counted', async () => {
    const before = await a.counter('softudc_nat_dropped_packets_total{router="r1",reason="unmapped"}');
    expect((await pingCount(h, out, G.g1, ['-c', '3', '-i', '0.2', '-W', '1'])).received).toBe(0);
    expect((await curl(out, `http://${G.g3}:8000/`)).code).not.toBe(0);
    expect((await curl(out, `http://${LEG_IP}:8000/`)).code).not.toBe(0);
    const after = await a.counter('softudc_nat_dropped_packets_total{router="r1",reason="unmapped"}');
    console.log(`unmapped inbound drops: ${after - before}`);
    expect(after - before).toBeGreaterThanOrEqual(4);
  });

  it('ICMP errors come back translated: a UDP send to a closed outside port is refused in the guest', async () => {
    const r = await udpToClosedPort(h, g.g1, OUTSIDE_IP);
    console.log(`UDP to a closed outside port from g1 (SNAT): ${r}`);
    expect(r).toBe('refused');
    const view = JSON.parse(await a.admin('/v1/state')) as { routers?: Array<{ id: string; nat?: number }> };
    const nat = view.routers?.find((x) => x.id === 'r1')?.nat ?? 0;
    expect(nat).toBeGreaterThan(0);
    expect(metricSum(await a.metrics(), 'softudc_nat_connections')).toBe(nat);
  });

  it('keeps no devices of a leg that left, and finds the router again on another host (gratuitous ARP)', async () => {
    const links = async (ns: string) => (await h.mustExec(ns, 'ip', ['-o', 'link', 'show'])).split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]);
    expect(await links(ha)).toContain(`sdxm${EXT}`);
    const ping = continuousPing(h, out, FLOATING, 10);
    await expect.poll(() => ping.received(), { timeout: 5000 }).toBeGreaterThan(20);
    const t0 = Date.now();
    await a.update((s) => ({ ...s, vnets: s.vnets.filter((v) => v.id !== EXT), ...({ routers: [] } as object) }));
    await b.update((s) => ({ ...s, vnets: [...s.vnets, extVnet], ...({ routers: [router] } as object) }));
    const moved = Date.now() - t0;
    const n = ping.received();
    await expect.poll(() => ping.received(), { timeout: 10_000 }).toBeGreaterThan(n + 20);
    const run = await ping.stop();
    console.log(`router moved host A → host B (both applies took ${moved} ms): outside → floating IP gap ${run.gapMs.toFixed(0)} ms, ${run.lostInGap} echo requests lost`);
    expect(await links(ha)).not.toContain(`sdxm${EXT}`);
    expect(await links(hb)).toContain(`sdxm${EXT}`);
    expect((await curl(out, `http://${FLOATING}:8000/`)).stdout).toBe('guest g2\n');
    expect((await curl(g.g1, outside.url)).stdout).toBe(OUTSIDE_PAGE);
  });
});
