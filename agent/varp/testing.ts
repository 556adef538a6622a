// A simulated underlay for the VARP tests (imported by *.test.ts only): every
// host's sends are recorded decoded, and can be delivered to the other hosts.
// Frames waiting for a resolution are held by the holder a test plugs in (the
// switch's HeldFrames, agent/switch/held.ts, which this folder cannot import).
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { decodeVarp, type VarpMessage } from '../wire/varp.ts';
import { VARP_ANNOUNCE, VARP_FLAG_HAS_IP } from '../wire/constants.ts';
import { Counters } from '../metrics.ts';
import { Varp } from './varp.ts';
import type { HeldDropReason } from './counters.ts';
import type { Route, VarpConfig, VarpIo } from './types.ts';

/** What holds a host's frames while they resolve (agent/switch/held.ts in the agent). */
export interface Holder {
  limits: { queueLimit: number; maxQueuedPerVnet: number };
  hold(vnet: number, mac: number, datagram: Buffer): void;
  release(vnet: number, mac: number, route: Route): void;
  discard(vnet: number, mac: number, reason: HeldDropReason): void;
}
export type MakeHolder = new (counters: Counters, send: (vnet: number, route: Route, frames: Buffer[]) => void) => Holder;

export const PORT = 1798;

export interface Sent {
  msg: VarpMessage;
  bytes: Buffer;
  /** Unicast destination; absent for a flood. */
  to?: { address: number; port: number };
}

export interface Host {
  name: string;
  coa: number;
  port: number;
  varp: Varp;
  counters: Counters;
  floods: Sent[];
  unicasts: Sent[];
  transmitted: { vnet: number; coa: number; port: number; frames: Buffer[] }[];
  /** (vnet, mac, version) of each local VIF the engine let go (io.moved). */
  moved: number[][];
  holder: Holder;
  /** What the switch does with a frame for (vnet, mac): the route, or null when held or dropped. */
  resolve(vnet: number, mac: number, datagram: Buffer): Route | null;
}

/** Hosts on one simulated segment. With `autoDeliver`, every send reaches its receivers at once. */
export class Net {
  readonly hosts: Host[] = [];
  autoDeliver = true;

  constructor(
    private readonly Held: MakeHolder,
    private readonly key?: Buffer,
  ) {}

  add(name: string, coa: number, config: Partial<VarpConfig> = {}, port = PORT): Host {
    const host = { name, coa, port, counters: new Counters(), floods: [], unicasts: [], transmitted: [], moved: [] } as unknown as Host;
    const io: VarpIo = {
      ownCoa: coa,
      port,
      sendFlood: (bytes) => {
        const sent = { msg: decodeVarp(bytes, this.key), bytes };
        host.floods.push(sent);
        if (this.autoDeliver) for (const h of this.hosts) if (h !== host) h.varp.handle(sent.msg, { address: coa, port });
      },
      sendTo: (bytes, address, toPort) => {
        const sent = { msg: decodeVarp(bytes, this.key), bytes, to: { address, port: toPort } };
        host.unicasts.push(sent);
        if (!this.autoDeliver) return;
        const dst = this.hosts.find((h) => h.coa === address && h.port === toPort);
        dst?.varp.handle(sent.msg, { address: coa, port });
      },
      resolved: (vnet, mac, route) => host.holder.release(vnet, mac, route),
      unresolved: (vnet, mac, reason) => host.holder.discard(vnet, mac, reason),
      moved: (vnet, mac, version) => void host.moved.push([vnet, mac, version]),
    };
    host.holder = new this.Held(host.counters, (vnet, route, frames) => host.transmitted.push({ vnet, coa: route.coa, port: route.port, frames }));
    host.varp = new Varp(io, host.counters, { ...config, ...(this.key ? { key: this.key } : {}) });
    host.holder.limits = { queueLimit: host.varp.config.queueLimit, maxQueuedPerVnet: host.varp.config.maxQueuedPerVnet };
    host.resolve = (vnet, mac, datagram) => {
      const r = host.varp.resolve(vnet, mac);
      if (r !== 'pending') return r;
      host.holder.hold(vnet, mac, datagram);
      return null;
    };
    host.varp.start();
    this.hosts.push(host);
    return host;
  }
}

export function datagram(n: number): Buffer {
  return Buffer.from(`frame-${n}`);
}

/**
 * A fresh Net (frames held by `Held`) for every test of the calling file,
 * under fake timers; its hosts are stopped after each test, and with
 * `noTimersLeft` that must leave no timer behind.
 */
export function netPerTest(Held: MakeHolder, opts: { noTimersLeft?: boolean } = {}): () => Net {
  let net: Net;
  beforeEach(() => {
    vi.useFakeTimers();
    net = new Net(Held);
  });
  afterEach(() => {
    for (const h of net.hosts) h.varp.stop();
    if (opts.noTimersLeft) expect(vi.getTimerCount()).toBe(0); // stop() leaves no timer behind
    vi.useRealTimers();
  });
  return () => net;
}

/** The addresses of the single-host tests: one remote VIF (MAC, IP) on VNET, hosts A, B and C2. */
export const ONE_HOST = {
  VNET: 7,
  MAC: 0x02_5d_00_00_00_0b,
  IP: 0x0a_07_00_0b, // 10.7.0.11
  A: 0xc6_12_00_01, // 198.18.0.1
  B: 0xc6_12_00_02,
  C2: 0xc6_12_00_03,
} as const;

/** Helpers for tests of one host whose messages are delivered by hand, under fake timers; the hosts made are stopped after each test. */
export function oneHost(Held: MakeHolder) {
  const { VNET, MAC, IP, A, B } = ONE_HOST;
  const made: Host[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    for (const h of made.splice(0)) h.varp.stop();
    vi.useRealTimers();
  });
  /** A host at A that sends nothing on its own (autoDeliver off). */
  const make = (config: Partial<VarpConfig> = {}): Host => {
    const net = new Net(Held);
    net.autoDeliver = false;
    const h = net.add('a', A, config);
    made.push(h);
    return h;
  };
  /** An ANNOUNCE from B for MAC on VNET. */
  const announce = (over: Partial<VarpMessage> = {}): VarpMessage => ({ opcode: VARP_ANNOUNCE, vnet: VNET, mac: MAC, flags: VARP_FLAG_HAS_IP, ip: IP, coa: B, nonce: 0, version: 1, ...over });
  /** The answer to the host's last REQUEST. */
  const answer = (h: Host, over: Partial<VarpMessage> = {}): void => {
    const req = h.floods.at(-1)!.msg;
    const msg = announce({ nonce: req.nonce, ...over });
    h.varp.handle(msg, { address: msg.coa, port: PORT });
  };
  const state = (h: Host, mac: number = MAC) => h.varp.entries().find((e) => e.vnet === VNET && e.mac === mac);
  return { make, announce, answer, state };
}
