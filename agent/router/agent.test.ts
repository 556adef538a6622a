// Routers inside real agents: two agents on loopback addresses with their
// UDP underlay, emulated guests, and routers and links from the state.
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../daemon/agent.ts';
import { silentLogger } from '../log.ts';
import { EmulatedGuest } from '../guests/index.ts';
import {
  ETHERTYPE_IPV4,
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  ICMP_UNREACH_NET,
  IPPROTO_UDP,
  decodeEthernet,
  decodeIcmp,
  decodeIpv4,
  encodeEthernet,
  encodeIpv4,
  encodeUdp,
  parseIp,
  parseMac,
  type Ipv4Packet,
} from '../wire/index.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const UNDERLAY_TX = 'softudc_underlay_tx_datagrams_total';
const CHANNEL = 'softudc_link_channel_packets_total';
const running: Agent[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Guest {
  id: string;
  vnet: number;
  ip: string;
  gw: string;
}

const macOf = (ip: string) => `02:5d:${ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':')}`;

function hostState(host: string, address: string, peers: string[], vnets: number[], guests: Guest[], routers: unknown[] = []) {
  return {
    host,
    generation: 1,
    underlay: { address, port: PORT, multicast: null, peers },
    vnets: vnets.map((id) => ({ id, security: 'none' as const })),
    vifs: guests.map((g) => ({ id: g.id, vnet: g.vnet, mac: macOf(g.ip), ip: `${g.ip}/24`, gateway: g.gw, version: 1, guest: { kind: 'emulated' as const } })),
    routers,
  };
}

async function agent(s: ReturnType<typeof hostState>): Promise<Agent> {
  const a = new Agent({ state: s, logger: silentLogger });
  running.push(a);
  const r = await a.start();
  expect(r.errors).toEqual([]);
  return a;
}

function guest(a: Agent, id: string): EmulatedGuest {
  const g = a.guest(id);
  if (!(g instanceof EmulatedGuest)) throw new Error(`${id} is not a running emulated guest`);
  return g;
}

/** Records the IPv4 packets a guest receives (alongside its own handling). */
function tap(g: EmulatedGuest): Ipv4Packet[] {
  const seen: Ipv4Packet[] = [];
  const deliver = g.deliver.bind(g);
  g.deliver = (frame: Buffer) => {
    const e = decodeEthernet(frame);
    if (e.ethertype === ETHERTYPE_IPV4) seen.push(decodeIpv4(e.payload));
    deliver(frame);
  };
  return seen;
}

async function until(fn: () => boolean, ms = 2000): Promise<void> {
  for (let t = 0; t < ms && !fn(); t += 10) await sleep(10);
}

const r1 = {
  id: 'farm/r1',
  interfaces: [
    { vnet: 10, mac: '02:5e:00:00:00:10', ip: '10.10.0.1/24', rip: false },
    { vnet: 20, mac: '02:5e:00:00:00:20', ip: '10.20.0.1/24', rip: false },
    { vnet: 30, mac: '02:5e:00:00:00:30', ip: '10.30.0.1/24', rip: false },
  ],
  staticRoutes: [],
  links: [],
};

describe('virtual routers in the agent', () => {
  it('forward among three vnets across two hosts, with TTL and ICMP behaviour', async () => {
    const h1 = await agent(hostState('h1', '127.0.0.2', ['127.0.0.3'], [10, 20, 30], [{ id: 'a', vnet: 10, ip: '10.10.0.10', gw: '10.10.0.1' }], [r1]));
    const h2 = await agent(
      hostState('h2', '127.0.0.3', ['127.0.0.2'], [20, 30], [
        { id: 'b', vnet: 20, ip: '10.20.0.10', gw: '10.20.0.1' },
        { id: 'c', vnet: 30, ip: '10.30.0.10', gw: '10.30.0.1' },
      ]),
    );
    const a = guest(h1, 'a');
    const b = guest(h2, 'b');
    expect((await a.ping('10.20.0.10', { count: 3, intervalMs: 5, timeoutMs: 1000 })).received).toBe(3);
    expect((await a.ping('10.30.0.10', { count: 3, intervalMs: 5, timeoutMs: 1000 })).received).toBe(3);
    // b → c: both on h2, the router on h1: out over the underlay and back.
    const tx = h2.counters.get(UNDERLAY_TX);
    expect((await b.ping('10.30.0.10', { count: 3, intervalMs: 5, timeoutMs: 1000 })).received).toBe(3);
    expect(h2.counters.get(UNDERLAY_TX) - tx).toBeGreaterThanOrEqual(6);
    expect(h1.nodes.router('farm/r1')!.view().counters['forwarded_packets_total']).toBeGreaterThanOrEqual(18);
    // The router's addresses answer from both hosts.
    expect((await b.ping('10.20.0.1', { timeoutMs: 1000 })).received).toBe(1);

    // Hand-made datagrams from b (on h2) through the router on h1.
    const seenB = tap(b);
    const seenA = tap(a);
    const send = (dst: string, ttl: number) => {
      const udp = encodeUdp({ srcPort: 33434, dstPort: 33435, payload: Buffer.from('probe') }, { src: b.ip, dst: parseIp(dst) });
      const ip = encodeIpv4({ ttl, protocol: IPPROTO_UDP, src: b.ip, dst: parseIp(dst), payload: udp });
      b.onFrame(encodeEthernet({ dst: parseMac('02:5e:00:00:00:20'), src: b.mac, ethertype: ETHERTYPE_IPV4, payload: ip }));
    };
    send('10.10.0.10', 2);
    await until(() => seenA.some((p) => p.protocol === IPPROTO_UDP));
    expect(seenA.find((p) => p.protocol === IPPROTO_UDP)).toMatchObject({ ttl: 1, src: b.ip });
    send('10.10.0.10', 1);
    send('192.0.2.1', 64);
    await until(() => seenB.filter((p) => p.protocol === 1).length >= 2);
    const errors = seenB.filter((p) => p.protocol === 1).map((p) => ({ src: p.src, m: decodeIcmp(p.payload) }));
    expect(errors.map((e) => [e.src, e.m.type, e.m.code])).toEqual([
      [parseIp('10.20.0.1'), ICMP_TIME_EXCEEDED, 0],
      [parseIp('10.20.0.1'), ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NET],
    ]);
  });

  it('joins co-located routers by the in-process channel (no underlay datagram) and remote ones over the link vnet', async () => {
    const link = (peer: string, local: string, remote: string, vnet: number | null) => ({ peer, local, remote, rip: false, vnet, peerHost: null });
    const ra = (vnet: number | null) => ({
      id: 'farm/ra',
      interfaces: [{ vnet: 10, mac: '02:5e:00:00:0a:10', ip: '10.10.0.1/24', rip: false }],
      staticRoutes: [{ destination: '10.40.0.0/24', nextHop: '169.254.9.2', metric: 1 }],
      links: [link('farm/rb', '169.254.9.1/30', '169.254.9.2', vnet)],
    });
    const rb = (vnet: number | null) => ({
      id: 'farm/rb',
      interfaces: [{ vnet: 40, mac: '02:5e:00:00:0b:40', ip: '10.40.0.1/24', rip: false }],
      staticRoutes: [{ destination: '10.10.0.0/24', nextHop: '169.254.9.1', metric: 1 }],
      links: [link('farm/ra', '169.254.9.2/30', '169.254.9.1', vnet)],
    });
    const ga = { id: 'a', vnet: 10, ip: '10.10.0.10', gw: '10.10.0.1' };
    const gd = { id: 'd', vnet: 40, ip: '10.40.0.10', gw: '10.40.0.1' };

    // Both routers and both guests on h1: everything stays in the process.
    const h1 = await agent(hostState('h1', '127.0.0.2', ['127.0.0.3'], [10, 40], [ga, gd], [ra(null), rb(null)]));
    const a = guest(h1, 'a');
    expect((await a.ping('10.40.0.10', { timeoutMs: 1000 })).received).toBe(1); // warm ARP caches
    await sleep(50);
    const tx = h1.counters.get(UNDERLAY_TX);
    const ch = h1.counters.get(CHANNEL);
    expect((await a.ping('10.40.0.10', { count: 20, intervalMs: 2, timeoutMs: 1000 })).received).toBe(20);
    expect(h1.counters.get(CHANNEL) - ch).toBe(40);
    expect(h1.counters.get(UNDERLAY_TX) - tx).toBe(0);

    // rb and d move to h2: the link becomes a point-to-point vnet over the underlay.
    const LINK_VNET = 4_294_967_294;
    await h1.apply({ ...hostState('h1', '127.0.0.2', ['127.0.0.3'], [10, LINK_VNET], [ga], [ra(LINK_VNET)]), generation: 2 });
    const h2 = await agent(hostState('h2', '127.0.0.3', ['127.0.0.2'], [40, LINK_VNET], [gd], [rb(LINK_VNET)]));
    expect(h1.nodes.router('farm/ra')!.view().interfaces.find((i) => i.name === 'link:farm/rb')).toMatchObject({ kind: 'vnet', vnet: LINK_VNET });
    const ch2 = h1.counters.get(CHANNEL);
    const tx2 = h1.counters.get(UNDERLAY_TX);
    let ok = 0;
    for (let i = 0; i < 20 && ok === 0; i++) ok = (await a.ping('10.40.0.10', { timeoutMs: 300 })).received;
    expect(ok).toBe(1);
    expect((await a.ping('10.40.0.10', { count: 10, intervalMs: 2, timeoutMs: 1000 })).received).toBe(10);
    expect(h1.counters.get(CHANNEL) - ch2).toBe(0);
    expect(h1.counters.get(UNDERLAY_TX) - tx2).toBeGreaterThanOrEqual(10);
    expect(h2.nodes.router('farm/rb')!.view().counters['forwarded_packets_total']).toBeGreaterThanOrEqual(20);
  });

  it('runs RIP across hosts over the link vnet: learned routes carry traffic', async () => {
    const LINK_VNET = 4_294_967_293;
    const link = (peer: string, local: string, remote: string) => ({ peer, local, remote, rip: true, vnet: LINK_VNET, peerHost: null });
    const timers = { updateMs: 300, triggerMinMs: 10, triggerMaxMs: 50 };
    const ra = { id: 'farm/ra', interfaces: [{ vnet: 10, mac: '02:5e:00:00:0a:10', ip: '10.10.0.1/24', rip: false }], links: [link('farm/rb', '169.254.7.1/30', '169.254.7.2')], ripTimers: timers };
    const rb = { id: 'farm/rb', interfaces: [{ vnet: 40, mac: '02:5e:00:00:0b:40', ip: '10.40.0.1/24', rip: false }], links: [link('farm/ra', '169.254.7.2/30', '169.254.7.1')], ripTimers: timers };
    const h1 = await agent(hostState('h1', '127.0.0.2', ['127.0.0.3'], [10, LINK_VNET], [{ id: 'a', vnet: 10, ip: '10.10.0.10', gw: '10.10.0.1' }], [ra]));
    const h2 = await agent(hostState('h2', '127.0.0.3', ['127.0.0.2'], [40, LINK_VNET], [{ id: 'd', vnet: 40, ip: '10.40.0.10', gw: '10.40.0.1' }], [rb]));
    const learned = (h: Agent, id: string, dest: string) => h.nodes.router(id)!.view().routes.find((r) => r.destination === dest);
    await until(() => !!learned(h1, 'farm/ra', '10.40.0.0/24') && !!learned(h2, 'farm/rb', '10.10.0.0/24'));
    expect(learned(h1, 'farm/ra', '10.40.0.0/24')).toMatchObject({ source: 'rip', metric: 2, nextHop: '169.254.7.2', iface: 'link:farm/rb' });
    expect(learned(h2, 'farm/rb', '10.10.0.0/24')).toMatchObject({ source: 'rip', metric: 2, nextHop: '169.254.7.1' });
    expect((await guest(h1, 'a').ping('10.40.0.10', { count: 3, intervalMs: 5, timeoutMs: 1000 })).received).toBe(3);
  });

  it('exempts router ports from source-address port security but still binds their MAC', async () => {
    const h1 = await agent(hostState('h1', '127.0.0.2', [], [10, 20, 30], [
      { id: 'a', vnet: 10, ip: '10.10.0.10', gw: '10.10.0.1' },
      { id: 'b', vnet: 20, ip: '10.20.0.10', gw: '10.20.0.1' },
    ], [r1]));
    expect((await guest(h1, 'a').ping('10.20.0.10', { count: 5, intervalMs: 2, timeoutMs: 1000 })).received).toBe(5);
    expect(h1.counters.sum('softudc_switch_port_security_drops_total')).toBe(0);
    // A guest still cannot forge another source address.
    const a = guest(h1, 'a');
    const udp = encodeUdp({ srcPort: 1, dstPort: 2, payload: Buffer.alloc(1) }, { src: parseIp('10.10.0.99'), dst: parseIp('10.20.0.10') });
    a.onFrame(encodeEthernet({ dst: parseMac('02:5e:00:00:00:10'), src: a.mac, ethertype: ETHERTYPE_IPV4, payload: encodeIpv4({ protocol: IPPROTO_UDP, src: parseIp('10.10.0.99'), dst: parseIp('10.20.0.10'), payload: udp }) }));
    expect(h1.counters.get('softudc_switch_port_security_drops_total{reason="ipv4_src"}')).toBe(1);
  });
});
