// Our userspace routers against real kernels and a real routing daemon:
// namespace guests on TAP devices, joined by in-process vnets, reach each
// other through two virtual routers (kernel ping and traceroute), and a BIRD
// daemon in a namespace exchanges RIPv2 routes with a virtual router.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { isRoot, prerequisite } from '../../test/require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from '../../test/netns/harness.ts';
import { tapAddonAvailable } from '../native/index.ts';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { createTapGuest } from '../guests/tap.ts';
import type { GuestPort, VifSpec } from '../guests/types.ts';
import { parseMac } from '../wire/index.ts';
import { LinkRegistry } from './links.ts';
import { VirtualRouter } from './router.ts';
import { routerSchema, type RouterSpecInput } from '../../contract/router.ts';
import { TestLan } from '../ipnode/testing.ts';

const TRACEROUTE = '/usr/sbin/traceroute';
const BIRD = '/usr/sbin/bird';
const BIRDC = '/usr/sbin/birdc';
const base = isRoot && netnsWorks() && tapAddonAvailable();
const ok = prerequisite(base, 'kernel routing tests need root, `ip netns` and the built TAP addon (node scripts/build-native.mjs)');
const okTrace = ok && prerequisite(hasCommand(TRACEROUTE), 'the traceroute test needs the Debian package `traceroute`');
const okBird = ok && prerequisite(hasCommand(BIRD) && hasCommand(BIRDC), 'the BIRD interop test needs the Debian package `bird2`');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ok)('virtual routers with kernel guests', () => {
  const h = new NetnsHarness();
  const counters = new Counters();
  const lan = new TestLan();
  const links = new LinkRegistry(counters);
  const guests: GuestPort[] = [];
  const routers: VirtualRouter[] = [];
  const ns: Record<string, string> = {};
  let birdProc: ChildProcess | null = null;
  let dir = '';

  async function tapGuest(short: string, vnet: number, mac: string, cidr: string, gateway?: string): Promise<void> {
    ns[short] = await h.addNs(short);
    const vif = { id: `k/${short}`, vnet, mac, ip: cidr, version: 1, guest: { kind: 'tap', netns: ns[short], ifname: 'eth0' } } as VifSpec;
    const g = createTapGuest(vif, { logger: silentLogger, counters, mtu: 1400 });
    lan.plug(vnet, parseMac(mac), g);
    await g.start();
    guests.push(g);
    if (gateway) await h.mustExec(ns[short]!, 'ip', ['route', 'add', 'default', 'via', gateway]);
  }

  function router(spec: RouterSpecInput): VirtualRouter {
    const r = new VirtualRouter(routerSchema.parse(spec), { counters, logger: silentLogger, links, ports: lan, rip: { updateMs: 2_000, triggerMinMs: 100, triggerMaxMs: 300 } });
    routers.push(r);
    return r;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'softudc-bird-'));
    links.setLocalRouters(['k/r1', 'k/r2']);
    // ns a — vnet 71 — r1 ⇄ (in-process link) ⇄ r2 — vnet 73 — ns c; r1 also on vnet 75 with RIP (BIRD's side).
    router({
      id: 'k/r1',
      interfaces: [
        { vnet: 71, mac: '02:5e:00:00:71:01', ip: '10.71.0.1/24' },
        { vnet: 75, mac: '02:5e:00:00:75:01', ip: '10.75.0.1/24', rip: true },
      ],
      staticRoutes: [{ destination: '10.73.0.0/24', nextHop: '169.254.71.2' }],
      links: [{ peer: 'k/r2', local: '169.254.71.1/30', remote: '169.254.71.2', vnet: null }],
    });
    router({
      id: 'k/r2',
      interfaces: [{ vnet: 73, mac: '02:5e:00:00:73:01', ip: '10.73.0.1/24' }],
      staticRoutes: [{ destination: '10.71.0.0/24', nextHop: '169.254.71.1' }],
      links: [{ peer: 'k/r1', local: '169.254.71.2/30', remote: '169.254.71.1', vnet: null }],
    });
    for (const r of routers) r.start();
    await tapGuest('ka', 71, '02:5d:00:00:71:0a', '10.71.0.10/24', '10.71.0.1');
    await tapGuest('kc', 73, '02:5d:00:00:73:0a', '10.73.0.10/24', '10.73.0.1');
  });

  afterAll(async () => {
    birdProc?.kill('SIGTERM');
    for (const r of routers) r.stop();
    for (const g of guests) await g.stop().catch(() => {});
    await h.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('carries the kernel ping through two routers, TTL decremented twice', async () => {
    const out = await h.mustExec(ns.ka!, 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', '10.73.0.10']);
    expect(out).toMatch(/3 packets transmitted, 3 received/);
    expect(out).toMatch(/ttl=62/); // the reply left ns c with 64 and crossed two routers
    expect(counters.get('softudc_link_channel_packets_total')).toBeGreaterThanOrEqual(6);
    const own = await h.mustExec(ns.ka!, 'ping', ['-n', '-c', '1', '-W', '2', '169.254.71.2']); // r2's link address
    expect(own).toMatch(/1 received/);
  });

  it('shows the kernel the expected time-exceeded hops (ping -t and traceroute)', async () => {
    const t1 = await h.exec(ns.ka!, 'ping', ['-n', '-c', '1', '-t', '1', '-W', '2', '10.73.0.10']);
    expect(t1.stdout).toMatch(/From 10\.71\.0\.1 icmp_seq=1 Time to live exceeded/);
    const t2 = await h.exec(ns.ka!, 'ping', ['-n', '-c', '1', '-t', '2', '-W', '2', '10.73.0.10']);
    expect(t2.stdout).toMatch(/From 169\.254\.71\.2 icmp_seq=1 Time to live exceeded/);
  });

  it.skipIf(!okTrace)('traceroute lists both routers, then the destination', async () => {
    const out = await h.mustExec(ns.ka!, TRACEROUTE, ['-n', '-q', '1', '-w', '2', '-m', '5', '10.73.0.10'], { timeoutMs: 30_000 });
    const hops = out
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[1])
      .filter(Boolean);
    expect(hops).toEqual(['10.71.0.1', '169.254.71.2', '10.73.0.10']);
  });

  it.skipIf(!okBird)('exchanges RIPv2 routes with BIRD, and traffic follows them both ways', async () => {
    await tapGuest('kb', 75, '02:5d:00:00:75:02', '10.75.0.2/24');
    await h.mustExec(ns.kb!, 'ip', ['addr', 'add', '10.88.0.1/24', 'dev', 'lo']);
    const conf = join(dir, 'bird.conf');
    const sock = join(dir, 'bird.ctl');
    writeFileSync(
      conf,
      [
        'router id 10.75.0.2;',
        'protocol device { scan time 1; }',
        'protocol direct { ipv4; interface "lo"; }',
        'protocol kernel { ipv4 { import none; export filter { if source = RTS_RIP then accept; reject; }; }; }',
        'protocol rip rip1 {',
        '  ipv4 { import all; export all; };',
        '  interface "eth0" { version 2; mode multicast; update time 2; };',
        '}',
        '',
      ].join('\n'),
    );
    birdProc = h.spawn(ns.kb!, BIRD, ['-f', '-c', conf, '-s', sock]);
    let stderr = '';
    birdProc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const r1 = routers[0]!;
    const learned = () => r1.view().routes.find((r) => r.destination === '10.88.0.0/24');
    for (let i = 0; i < 150 && !learned(); i++) await sleep(100);
    expect(learned(), `r1 did not learn BIRD's route; bird said: ${stderr}`).toMatchObject({ source: 'rip', nextHop: '10.75.0.2', iface: 'vnet75', metric: 2 });

    // BIRD learned r1's networks (including the static one behind the link) and gave them to its kernel.
    let kernel = '';
    for (let i = 0; i < 150 && !/10\.73\.0\.0\/24 via 10\.75\.0\.1/.test(kernel); i++) {
      kernel = (await h.exec(ns.kb!, 'ip', ['route', 'show'])).stdout;
      if (!/10\.73\.0\.0\/24/.test(kernel)) await sleep(100);
    }
    expect(kernel).toMatch(/10\.71\.0\.0\/24 via 10\.75\.0\.1 dev eth0 proto bird/);
    expect(kernel).toMatch(/10\.73\.0\.0\/24 via 10\.75\.0\.1 dev eth0 proto bird/);
    const shown = await h.mustExec(ns.kb!, BIRDC, ['-s', sock, 'show', 'route', 'protocol', 'rip1']);
    expect(shown).toMatch(/10\.71\.0\.0\/24\s+unicast \[rip1/);

    // ns a → r1 (route from BIRD) → BIRD's namespace, and back by the route BIRD learned from r1.
    const out = await h.mustExec(ns.ka!, 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', '10.88.0.1']);
    expect(out).toMatch(/3 packets transmitted, 3 received/);
  });
});
