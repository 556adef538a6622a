// The packet trace against real traffic (issue 16, "Trace tests"): random
// farms from a seeded generator (three vnets, VMs on three hosts, a router
// with static routes, a firewall with random rules) deployed by a real
// console to three real managed agents on loopback addresses (test/control-world.ts);
// for random source/destination pairs the emulated guests send UDP
// datagrams or ICMP echoes, and what the destination guests receive (their
// counters, on every agent) must agree with the trace's verdict. Then a
// live trace names a VARP entry the test makes stale on purpose: the VM moves
// while the hosts that could tell are stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlWorld, waitConverged, type ControlWorld, type HostName } from './control-world.ts';
import { waitFor } from './managed-agent.ts';
import { metricSum } from './netns/agents.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';

/** Mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

const HOSTS: HostName[] = ['h1', 'h2', 'h3'];
const PORTS = [53, 1500, 5353, 8080];

/** vnets a (10.N1), b (10.N2), c (10.N3); router r on a and b routes c via the firewall on b and c. */
function randomFarm(seed: number): FarmDocumentInput {
  const r = rng(seed);
  const n = 70 + (seed % 20);
  const net = (x: 'a' | 'b' | 'c') => `10.${n}.${{ a: 1, b: 2, c: 3 }[x]}`;
  const vms = (['a', 'a', 'b', 'b', 'c', 'c'] as const).map((v, i) => ({ name: `vm${i}`, host: r.pick(HOSTS), vifs: [{ name: 'eth0', vnet: v, ip: `${net(v)}.${10 + i}` }] }));
  const sources = ['0.0.0.0/0', `${net('a')}.0/24`, `${net('b')}.0/24`, `${net(r.pick(['a', 'b', 'c']))}.${10 + r.int(6)}/32`];
  const destinations = ['0.0.0.0/0', `${net('c')}.0/24`, `${net('b')}.0/24`, `${net(r.pick(['b', 'c']))}.${10 + r.int(6)}/32`];
  const rules = Array.from({ length: 3 + r.int(4) }, () => {
    const protocol = r.pick(['any', 'udp', 'icmp', 'tcp'] as const);
    const ports = (protocol === 'udp' || protocol === 'tcp') && r.next() < 0.6;
    const from = r.pick(PORTS);
    return {
      action: r.pick(['allow', 'deny'] as const), protocol, source: r.pick(sources), destination: r.pick(destinations),
      portFrom: ports ? from : null, portTo: ports && r.next() < 0.5 ? from + 100 : null,
      interface: r.pick([null, null, 'b', 'c']),
    };
  });
  return {
    version: 'softudc.farm/v1',
    name: `trace${seed}`,
    vnets: (['a', 'b', 'c'] as const).map((v) => ({ name: v, cidr: `${net(v)}.0/24` })),
    vms,
    routers: [{
      name: 'r', host: r.pick(HOSTS),
      interfaces: [{ vnet: 'a', ip: `${net('a')}.1` }, { vnet: 'b', ip: `${net('b')}.1` }],
      staticRoutes: [
        { destination: `${net('c')}.0/24`, nextHop: `${net('b')}.254` },
        // A next hop nobody has: ARP for it goes unanswered.
        { destination: `10.${n}.9.0/24`, nextHop: `${net('b')}.77` },
      ],
    }],
    firewalls: [{
      name: 'fw', host: r.pick(HOSTS), defaultPolicy: r.pick(['allow', 'deny'] as const),
      interfaces: [{ name: 'b', vnet: 'b', ip: `${net('b')}.254` }, { name: 'c', vnet: 'c', ip: `${net('c')}.1` }],
      rules,
    }],
  };
}

interface Case {
  from: string;
  fromVm: string;
  to: string;
  protocol: 'udp' | 'icmp';
  port: number | null;
}

function randomCases(seed: number, doc: FarmDocumentInput, count: number): Case[] {
  const r = rng(seed * 7919);
  const vms = doc.vms!;
  const n = 70 + (seed % 20);
  const targets = [...vms.map((v) => v.vifs![0]!.ip!), `10.${n}.1.99`, `10.${n}.3.99`, `10.${n}.9.5`, '192.0.2.1'];
  return Array.from({ length: count }, () => {
    const src = r.pick(vms);
    const protocol = r.pick(['udp', 'udp', 'icmp'] as const);
    return { from: src.vifs![0]!.ip!, fromVm: src.name, to: r.pick(targets.filter((t) => t !== src.vifs![0]!.ip)), protocol, port: protocol === 'udp' ? r.pick(PORTS) : null };
  });
}

let w: ControlWorld;

beforeAll(async () => {
  w = await startControlWorld({ tenantName: 'trace' });
}, 90_000);
afterAll(() => w?.close());

/** What every guest on every agent received so far: UDP datagrams and answered echo requests. */
async function received(): Promise<{ udp: number; icmp: number }> {
  let udp = 0;
  let icmp = 0;
  for (const h of HOSTS) {
    const text = await (await fetch(`${w.agents[h].adminUrl}/metrics`)).text();
    udp += metricSum(text, 'softudc_emulated_udp_rx_packets_total');
    icmp += metricSum(text, 'softudc_emulated_icmp_echo_replies_total');
  }
  return { udp, icmp };
}

/** The counters once they stop moving (frames held for a resolution may still arrive): read until two agree. */
async function settled(): Promise<{ udp: number; icmp: number }> {
  let last = await received();
  for (let i = 0; i < 12; i++) {
    await new Promise((res) => setTimeout(res, 300));
    const now = await received();
    if (now.udp === last.udp && now.icmp === last.icmp) return now;
    last = now;
  }
  return last;
}

/** Sends the case's traffic from the source guest; true when a destination guest received it. */
async function send(agentUrl: string, vif: string, c: Case): Promise<boolean> {
  const before = await settled();
  const path = `${agentUrl}/v1/vifs/${encodeURIComponent(vif)}/${c.protocol === 'udp' ? 'udp-stream' : 'ping'}`;
  const body = c.protocol === 'udp'
    ? { target: c.to, port: c.port, packets: 5, size: 64, drainMs: 0, timeoutMs: 3000 }
    : { target: c.to, count: 3, intervalMs: 100, timeoutMs: 1500 };
  // A destination nobody answers ARP for is an error of the probe: nothing was sent, which is the answer.
  await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.text());
  const after = await settled();
  return c.protocol === 'udp' ? after.udp > before.udp : after.icmp > before.icmp;
}

describe('packet trace against real traffic between emulated guests on three agents', () => {
  it('agrees with what the guests receive, for 24 generated cases over 3 random farms', async () => {
    const results: string[] = [];
    const disagreements: string[] = [];
    let delivered = 0;
    for (const seed of [11, 12, 13]) {
      const doc = randomFarm(seed);
      const farm = await w.caller.farm.import({ document: doc, vnids: 'auto' });
      await w.caller.farm.deploy({ id: farm.id });
      await waitConverged(w, 30_000);
      const detail = await w.caller.farm.get({ id: farm.id });
      for (const c of randomCases(seed, doc, 8)) {
        const vm = detail.vms.find((v) => v.name === c.fromVm)!;
        const vif = vm.vifs[0]!.id;
        const t = await w.caller.farm.trace({ id: farm.id, from: { vif }, to: c.to, protocol: c.protocol, port: c.port });
        const real = await send(w.agents[vm.hostName as HostName].adminUrl, vif, c);
        const failed = t.failedAt === null ? null : t.hops[t.failedAt]!;
        const line = `seed ${seed} ${c.protocol} ${c.from} -> ${c.to}${c.port ? `:${c.port}` : ''}: trace ${t.verdict}${failed ? ` at ${failed.step} (${failed.reason})` : ''}; traffic ${real ? 'arrived' : 'did not arrive'}`;
        results.push(line);
        if (real !== (t.verdict === 'delivered')) disagreements.push(line);
        if (real) delivered++;
        if (real && t.verdict === 'delivered') {
          // Right after real traffic, the live state of every hop the agents could check agrees with the design.
          const live = await w.caller.farm.trace({ id: farm.id, from: { vif }, to: c.to, protocol: c.protocol, port: c.port, live: true });
          const off = live.hops.filter((h) => h.live && !h.live.agrees).map((h) => `${h.step}@${h.host?.name}: ${h.live!.state}`);
          if (off.length) disagreements.push(`${line}; live disagrees: ${off.join(' | ')}`);
        }
      }
      await w.caller.farm.undeploy({ id: farm.id });
      await w.caller.farm.delete({ id: farm.id, expectedRevision: (await w.caller.farm.get({ id: farm.id })).revision });
    }
    console.log(results.join('\n'));
    expect(results).toHaveLength(24);
    // Both verdicts occur, so agreement is not one answer given to everything.
    expect(delivered).toBeGreaterThan(3);
    expect(results.length - delivered).toBeGreaterThan(3);
    expect(disagreements).toEqual([]);
  }, 600_000);

  it('a live trace names a VARP entry made stale on purpose', async () => {
    const doc: FarmDocumentInput = {
      version: 'softudc.farm/v1',
      name: 'stale',
      vnets: [{ name: 'lan', cidr: '10.95.0.0/24' }],
      vms: [
        { name: 'x', host: 'h1', vifs: [{ name: 'eth0', vnet: 'lan', ip: '10.95.0.10' }] },
        { name: 'y', host: 'h2', vifs: [{ name: 'eth0', vnet: 'lan', ip: '10.95.0.11' }] },
      ],
    };
    const farm = await w.caller.farm.import({ document: doc, vnids: 'auto' });
    await w.caller.farm.deploy({ id: farm.id });
    await waitConverged(w, 30_000);
    const detail = await w.caller.farm.get({ id: farm.id });
    const x = detail.vms.find((v) => v.name === 'x')!.vifs[0]!;
    const y = detail.vms.find((v) => v.name === 'y')!.vifs[0]!;
    const ping = await w.agents.h1.ping(x.id, '10.95.0.11', { count: 2, intervalMs: 100, timeoutMs: 1000 });
    expect(ping.received).toBeGreaterThan(0);
    const fresh = await w.caller.farm.trace({ id: farm.id, from: { vif: x.id }, to: '10.95.0.11', protocol: 'icmp', live: true });
    expect(fresh.hops[1]!.live).toMatchObject({ agrees: true });
    expect(fresh.hops[1]!.live!.state).toContain(`VARP entry on host h1: ${y.mac} at 127.0.0.3 (h2)`);
    // y moves to h3 while h2 (which would withdraw it) and h3 (which would announce it) are stopped:
    // h1 keeps its entry pointing at h2.
    await w.agents.h2.kill('SIGKILL');
    await w.agents.h3.kill('SIGKILL');
    const vmY = detail.vms.find((v) => v.name === 'y')!;
    await w.caller.vm.update({ id: vmY.id, expectedRevision: detail.revision, hostId: w.hostIds.h3 });
    await w.caller.farm.deploy({ id: farm.id });
    const stale = await w.caller.farm.trace({ id: farm.id, from: { vif: x.id }, to: '10.95.0.11', protocol: 'icmp', live: true });
    const hop = stale.hops[1]!;
    expect(hop.reason).toContain('host h3 (127.0.0.4)');
    expect(hop.live!.agrees).toBe(false);
    expect(hop.live!.state).toContain(`VARP entry on host h1: ${y.mac} at 127.0.0.3 (h2)`);
    expect(hop.live!.state).toContain(`points at host h2's address, but ${y.mac} is on h3 (127.0.0.4)`);
    // h1 was asked, and answered: its agent never stopped.
    await waitFor(async () => (await w.agents.h1.state()).appliedGeneration !== null, 'h1 still running', 5_000);
  }, 120_000);
});
