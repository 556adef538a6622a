// The vnetd relay role between real agents on loopback: two "segments" whose
// hosts only know each other (unicast replication to their LAN peers), one
// relay agent per segment. Guests resolve and reach across only through the
// relays; in proxy mode every cache points at the local relay.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Agent } from '../daemon/agent.ts';
import { silentLogger } from '../log.ts';
import { EmulatedGuest } from '../guests/index.ts';
import type { AgentStateInput } from '../state.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const running: Agent[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
});

const H1 = '127.31.1.1';
const R1 = '127.31.1.2';
const H2 = '127.31.2.1';
const R2 = '127.31.2.2';
const KEYS = [{ id: 1, key: randomBytes(32).toString('base64'), salt: randomBytes(4).toString('base64') }];
/** Short VARP timers: a failed resolution is retried quickly once the relays are up. */
const VARP = { requestIntervalMs: 150, requestCount: 3, failedHoldMs: 50 };

type Relay = { enabled: boolean; peers: string[]; proxy: boolean } | null;

function state(
  host: string,
  address: string,
  lanPeers: string[],
  vifs: { id: string; vnet: number; n: number }[],
  relay: Relay,
  generation = 1,
  sealedVnet = vifs.length > 0,
): AgentStateInput {
  // Admission: hosts also take datagrams from the carriers behind the relays (their answers come straight).
  const far = address === H1 ? [H2] : address === H2 ? [H1] : [];
  return {
    host,
    generation,
    underlay: { address, port: PORT, multicast: null, peers: lanPeers, members: far },
    vnets: [{ id: 7, security: 'none' }, ...(sealedVnet ? [{ id: 9, security: 'conf' as const, keys: KEYS }] : [])],
    vifs: vifs.map((v) => ({
      id: v.id,
      vnet: v.vnet,
      mac: `02:5d:00:00:${v.vnet.toString(16).padStart(2, '0')}:${v.n.toString(16).padStart(2, '0')}`,
      ip: `10.${v.vnet}.0.${v.n}/24`,
      version: 1,
      guest: { kind: 'emulated' as const },
    })),
    varp: VARP,
    relay,
  };
}

async function agent(s: AgentStateInput): Promise<Agent> {
  const a = new Agent({ state: s, logger: silentLogger });
  running.push(a);
  await a.start();
  return a;
}

function guest(a: Agent, id: string): EmulatedGuest {
  const g = a.guest(id);
  if (!(g instanceof EmulatedGuest)) throw new Error(`${id} is not emulated`);
  return g;
}

async function world(proxy: boolean | null, varpKey?: string) {
  const relay = (peer: string): Relay => (proxy === null ? null : { enabled: true, peers: [peer], proxy });
  const vifs1 = [{ id: 'a', vnet: 7, n: 1 }, { id: 'c', vnet: 9, n: 1 }];
  const vifs2 = [{ id: 'b', vnet: 7, n: 2 }, { id: 'd', vnet: 9, n: 2 }];
  const keyed = (s: AgentStateInput): AgentStateInput => (varpKey ? { ...s, varp: { ...VARP, key: varpKey } } : s);
  const h1 = await agent(keyed(state('h1', H1, [R1], vifs1, null)));
  const r1 = await agent(keyed(state('r1', R1, [H1], [], relay(R2))));
  const h2 = await agent(keyed(state('h2', H2, [R2], vifs2, null)));
  const r2 = await agent(keyed(state('r2', R2, [H2], [], relay(R1))));
  return { h1, r1, h2, r2, relay };
}

const entry = (a: Agent, mac: string) => a.snapshot().varp.find((e) => e.mac === mac);

describe('vnetd relays between two segments', () => {
  it('guests on different segments reach each other only once the relays are on; answers go straight to the origin', async () => {
    const w = await world(null);
    const a = guest(w.h1, 'a');
    expect((await a.ping('10.7.0.2', { count: 2, intervalMs: 100, timeoutMs: 300 })).received).toBe(0);

    await w.r1.apply(state('r1', R1, [H1], [], { enabled: true, peers: [R2], proxy: false }, 2));
    await w.r2.apply(state('r2', R2, [H2], [], { enabled: true, peers: [R1], proxy: false }, 2));
    await new Promise((r) => setTimeout(r, 100));
    let received = 0;
    for (let i = 0; i < 20 && received === 0; i++) received = (await a.ping('10.7.0.2', { timeoutMs: 300 })).received;
    expect(received).toBe(1);
    expect((await a.ping('10.7.0.2', { count: 10, intervalMs: 5, timeoutMs: 500 })).received).toBe(10);
    // A sealed vnet crosses too: the relays carry its floods without its keys.
    const c = guest(w.h1, 'c');
    received = 0;
    for (let i = 0; i < 20 && received === 0; i++) received = (await c.ping('10.9.0.2', { timeoutMs: 300 })).received;
    expect(received).toBe(1);

    // Not a proxy: h1 sends to h2 directly, and h2 answered the relayed REQUEST straight to h1.
    expect(entry(w.h1, '02:5d:00:00:07:02')).toMatchObject({ coa: H2, proxy: false, state: 'REACHABLE' });
    expect(w.h2.counters.get('softudc_varp_relayed_requests_answered_total')).toBeGreaterThan(0);
    expect(w.r1.counters.get('softudc_relay_relayed_out_total{kind="varp"}')).toBeGreaterThan(0);
    expect(w.r2.counters.get('softudc_relay_relayed_in_total{kind="varp"}')).toBeGreaterThan(0);
    expect(w.r2.counters.get('softudc_relay_reflooded_total{kind="varp"}')).toBeGreaterThan(0);
    expect(w.r1.counters.get('softudc_underlay_rx_handled_total{kind="relay"}')).toBeGreaterThan(0);
    // Exact accounting holds on the relays too.
    for (const r of [w.r1, w.r2]) {
      const c2 = r.counters;
      expect(c2.sum('softudc_underlay_rx_handled_total') + c2.sum('softudc_underlay_rx_dropped_total')).toBe(c2.get('softudc_underlay_rx_datagrams_total'));
    }
  });

  it('proxy mode: every cache points at the local relay, frames cross vnetd to vnetd', async () => {
    const w = await world(true);
    const a = guest(w.h1, 'a');
    let received = 0;
    for (let i = 0; i < 20 && received === 0; i++) received = (await a.ping('10.7.0.2', { timeoutMs: 300 })).received;
    expect(received).toBe(1);
    expect((await a.ping('10.7.0.2', { count: 20, intervalMs: 5, timeoutMs: 500 })).received).toBe(20);
    expect(entry(w.h1, '02:5d:00:00:07:02')).toMatchObject({ coa: R1, proxy: true });
    expect(entry(w.h2, '02:5d:00:00:07:01')).toMatchObject({ coa: R2, proxy: true });
    expect(w.r1.counters.get('softudc_relay_proxy_forwarded_frames_total{to="far"}')).toBeGreaterThanOrEqual(20);
    expect(w.r2.counters.get('softudc_relay_proxy_forwarded_frames_total{to="lan"}')).toBeGreaterThanOrEqual(20);
    expect(w.r2.counters.get('softudc_relay_proxy_forwarded_frames_total{to="far"}')).toBeGreaterThanOrEqual(20);

    // conf vnet: the relays hold no keys, so its unicast frames cross as floods; they still arrive, sealed.
    const c = guest(w.h1, 'c');
    received = 0;
    for (let i = 0; i < 20 && received === 0; i++) received = (await c.ping('10.9.0.2', { timeoutMs: 300 })).received;
    expect(received).toBe(1);
    expect(entry(w.h1, '02:5d:00:00:09:02')).toMatchObject({ coa: R1, proxy: true });
    expect(w.r1.counters.get('softudc_relay_relayed_out_total{kind="frame"}')).toBeGreaterThan(0);
  });

  it('proxy mode with a VARP key: routes come from signed answers, guests reach each other', async () => {
    const w = await world(true, randomBytes(32).toString('base64'));
    const a = guest(w.h1, 'a');
    let received = 0;
    for (let i = 0; i < 20 && received === 0; i++) received = (await a.ping('10.7.0.2', { timeoutMs: 300 })).received;
    expect(received).toBe(1);
    expect((await a.ping('10.7.0.2', { count: 10, intervalMs: 5, timeoutMs: 500 })).received).toBe(10);
    expect(entry(w.h1, '02:5d:00:00:07:02')).toMatchObject({ coa: R1, proxy: true });
    expect(w.h1.counters.get('softudc_underlay_rx_dropped_total{reason="varp_bad_auth"}')).toBe(0);
  });

  it('proxy mode with the vnet keys on the relays routes sealed unicast frames by their destination', async () => {
    const w = await world(true);
    // The relays carry vnet 9 (keys, no VIFs): they can read a conf frame's destination.
    for (const [r, addr, lan, peer] of [[w.r1, R1, H1, R2], [w.r2, R2, H2, R1]] as const) {
      await r.apply(state(r === w.r1 ? 'r1' : 'r2', addr, [lan], [], { enabled: true, peers: [peer], proxy: true }, 2, true));
    }
    const c = guest(w.h1, 'c');
    let received = 0;
    for (let i = 0; i < 20 && received === 0; i++) received = (await c.ping('10.9.0.2', { timeoutMs: 300 })).received;
    expect(received).toBe(1);
    const before = w.r1.counters.get('softudc_relay_proxy_forwarded_frames_total{to="far"}');
    expect((await c.ping('10.9.0.2', { count: 10, intervalMs: 5, timeoutMs: 500 })).received).toBe(10);
    expect(w.r1.counters.get('softudc_relay_proxy_forwarded_frames_total{to="far"}') - before).toBeGreaterThanOrEqual(10);
    expect(w.h2.counters.sum('softudc_underlay_rx_dropped_total')).toBe(w.h2.counters.get('softudc_underlay_rx_dropped_total{reason="own"}'));
  });

  it('refuses RELAYs from anyone but a configured peer, and anything from an address it does not admit', async () => {
    const w = await world(false);
    const { createSocket } = await import('node:dgram');
    const { encodeRelay, encodeVarp, parseIp, VARP_REQUEST } = await import('../wire/index.ts');
    const inner = encodeVarp({ opcode: VARP_REQUEST, vnet: 7, mac: 0x025d00000702, flags: 0, ip: 0, coa: parseIp('127.31.9.9'), nonce: 1, version: 0 });
    // The hosts' own start-up announcements cross the relays too: let them pass first.
    const reflooded = () => w.r1.counters.get('softudc_relay_reflooded_total{kind="varp"}');
    for (let last = -1, stableSince = Date.now(); Date.now() - stableSince < 300; await new Promise((r) => setTimeout(r, 20))) {
      if (reflooded() !== last) [last, stableSince] = [reflooded(), Date.now()];
    }
    const before = reflooded();
    for (const from of ['127.31.9.9', H1]) {
      const sock = createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, from, () => r()));
      await new Promise<void>((r) => sock.send(encodeRelay({ hops: 4, origin: parseIp(from), inner }), PORT, R1, () => r()));
      await new Promise((r) => setTimeout(r, 100));
      sock.close();
    }
    // A stranger is not admitted at all; a LAN host is, but it is no peer vnetd.
    expect(w.r1.counters.get('softudc_underlay_rx_dropped_total{reason="not_admitted"}')).toBe(1);
    expect(w.r1.counters.get('softudc_underlay_rx_dropped_total{reason="relay_not_peer"}')).toBe(1);
    expect(reflooded()).toBe(before);
  });

  it('a proxy sends no REQUEST for a vnet it does not carry', async () => {
    const w = await world(true);
    const { createSocket } = await import('node:dgram');
    const { encodeFrame } = await import('../wire/index.ts');
    const sent = () => w.r1.counters.get('softudc_relay_proxy_requests_sent_total');
    await new Promise((r) => setTimeout(r, 200));
    const before = sent();
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, H1, () => r())); // an admitted LAN host
    for (let i = 0; i < 50; i++) {
      const eth = Buffer.alloc(60);
      eth.writeUIntBE(0x025d00aa0000 + i, 0, 6); // a new unicast destination each time
      eth.writeUIntBE(0x025d00bb0001, 6, 6);
      await new Promise<void>((r) => sock.send(encodeFrame({ vnet: 555, ethernet: eth }), PORT, R1, () => r()));
    }
    await new Promise((r) => setTimeout(r, 200));
    sock.close();
    expect(sent()).toBe(before);
    const c = w.r1.counters;
    expect(c.sum('softudc_underlay_rx_handled_total') + c.sum('softudc_underlay_rx_dropped_total')).toBe(c.get('softudc_underlay_rx_datagrams_total'));
  });

  it('survives random and mutated RELAYs from a peer address, with exact accounting, and keeps relaying', async () => {
    const w = await world(true);
    const a = guest(w.h1, 'a');
    let received = 0;
    for (let i = 0; i < 20 && received === 0; i++) received = (await a.ping('10.7.0.2', { timeoutMs: 300 })).received;
    expect(received).toBe(1);
    const { createSocket } = await import('node:dgram');
    const { encodeRelay, encodeVarp, encodeFrame, parseIp, VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS } = await import('../wire/index.ts');
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, R2, () => r())); // the peer's address, another port
    // Seeded, so a failure replays. The announced MAC differs from every guest's
    // MAC in more bytes than one datagram's mutations (at most 3) can change: a
    // mutant that became a well-formed announcement for a real guest would be a
    // legitimate migration from a trusted peer, not garbage.
    let seed = 0x5d5d;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const seeds = [
      encodeRelay({ hops: 4, origin: parseIp(H2), inner: encodeVarp({ opcode: VARP_ANNOUNCE, vnet: 7, mac: 0x06a5c3e1f799, flags: VARP_FLAG_GRATUITOUS, ip: 0, coa: parseIp(R2), nonce: 0, version: 1 }) }),
      encodeRelay({ hops: 4, origin: parseIp(H2), inner: encodeFrame({ vnet: 7, ethernet: Buffer.alloc(60, 0xff) }) }),
    ];
    for (let i = 0; i < 400; i++) {
      const m = Buffer.from(seeds[i % 2]!);
      const cut = rnd(3) === 0 ? m.subarray(0, rnd(m.length + 1)) : m;
      for (let k = rnd(4); k > 0 && cut.length > 0; k--) cut[rnd(cut.length)] = rnd(256);
      await new Promise<void>((r) => sock.send(cut, PORT, R1, () => r()));
    }
    await new Promise((r) => setTimeout(r, 300));
    sock.close();
    const c = w.r1.counters;
    expect(c.sum('softudc_underlay_rx_handled_total') + c.sum('softudc_underlay_rx_dropped_total')).toBe(c.get('softudc_underlay_rx_datagrams_total'));
    expect(c.sum('softudc_underlay_rx_dropped_total')).toBeGreaterThan(0);
    expect((await a.ping('10.7.0.2', { count: 5, intervalMs: 5, timeoutMs: 500 })).received).toBe(5);
  });
});
