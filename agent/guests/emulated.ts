// An emulated guest: a small userspace host stack behind a VIF. It answers
// ARP (RFC 826), ICMP echo (RFC 792) and UDP echo on port 7 (RFC 862) for its
// address, and originates pings and UDP streams for diagnostics (the admin
// API) and benchmarks. No kernel, no root: what the loopback tests run on.
// Over 300 lines, kept whole: ARP, IPv4 and the probes' hooks share one
// address, neighbour table and timer set.
import { GUEST_MTU_DEFAULT } from '../../contract/limits.ts';
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  BROADCAST_MAC,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETH_TYPE_OFFSET,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  IPV4_FLAG_MF,
  UDP_ECHO_PORT,
  WireError,
  decodeArp,
  decodeIcmp,
  decodeIpv4,
  decodeUdp,
  encodeArp,
  encodeEthernet,
  encodeIcmp,
  encodeIpv4,
  encodeUdp,
  inPrefix,
  isGroupMac,
  parseCidr,
  parseIp,
  parseMac,
  peekDst,
  type Ipv4Packet,
} from '../wire/index.ts';
import { runPing, runUdpStream, type PingOptions, type PingResult, type UdpStreamOptions, type UdpStreamResult } from './probe.ts';
import type { GuestContext, GuestPort, VifSpec } from './types.ts';

export type { PingOptions, PingResult, UdpStreamOptions, UdpStreamResult } from './probe.ts';

const ETH_HEADER_LEN = 14;
/** How long a learned neighbour stays valid (Linux's base_reachable_time is 30 s). */
const ARP_TTL_MS = 30_000;
/** Bounded so that a flood of spoofed ARP cannot grow memory without limit. */
const ARP_CACHE_MAX = 1024;
const ARP_RETRIES = 3;
const IPV4_UDP_OVERHEAD = 28;

interface ArpEntry {
  mac: number;
  expires: number;
}

type Waiter = (mac: number | null) => void;

export class EmulatedGuest implements GuestPort {
  readonly id: string;
  onFrame: (frame: Buffer) => void = () => {};
  mac = 0;
  ip = 0;
  prefixLen = 0;
  gateway: number | null = null;
  mtu = GUEST_MTU_DEFAULT;
  private running = false;
  private readonly arp = new Map<number, ArpEntry>();
  private readonly arpWaiters = new Map<number, Set<Waiter>>();
  private readonly icmpHandlers = new Map<number, (id: number, seq: number, payload: Buffer) => void>();
  private readonly udpHandlers = new Map<number, (payload: Buffer) => void>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private ipId = 0;

  constructor(
    vif: VifSpec,
    private readonly ctx: GuestContext,
  ) {
    this.id = vif.id;
    this.configure(vif);
  }

  private configure(vif: VifSpec): void {
    const cidr = parseCidr(vif.ip);
    const changed = cidr.ip !== this.ip || cidr.prefixLen !== this.prefixLen;
    this.mac = parseMac(vif.mac);
    this.ip = cidr.ip;
    this.prefixLen = cidr.prefixLen;
    this.gateway = vif.gateway ? parseIp(vif.gateway) : null;
    this.mtu = vif.mtu ?? this.ctx.mtu ?? GUEST_MTU_DEFAULT;
    if (changed) this.arp.clear();
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    const pending = [...this.timers];
    this.timers.clear();
    for (const [t, fn] of pending) {
      clearTimeout(t);
      fn();
    }
    for (const set of this.arpWaiters.values()) for (const w of set) w(null);
    this.arpWaiters.clear();
  }

  async update(vif: VifSpec): Promise<void> {
    this.configure(vif);
  }

  // ---- receive ----

  deliver(frame: Buffer): void {
    if (!this.running) return;
    const c = this.ctx.counters;
    c.inc('softudc_emulated_rx_frames_total');
    try {
      const dst = peekDst(frame);
      if (dst !== this.mac && dst !== BROADCAST_MAC) {
        c.inc('softudc_emulated_rx_ignored_total');
        return;
      }
      const type = frame.readUInt16BE(ETH_TYPE_OFFSET);
      const src = frame.readUIntBE(6, 6);
      const payload = frame.subarray(ETH_HEADER_LEN);
      if (type === ETHERTYPE_ARP) this.onArp(payload);
      else if (type === ETHERTYPE_IPV4 && dst === this.mac) this.onIpv4(decodeIpv4(payload), src);
      else c.inc('softudc_emulated_rx_ignored_total'); // 802.1Q-tagged, IPv6, IP broadcast: not this stack's
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      c.inc('softudc_emulated_rx_malformed_total');
    }
  }

  private onArp(buf: Buffer): void {
    const p = decodeArp(buf);
    if (p.spa !== 0 && !isGroupMac(p.sha) && p.sha !== 0) {
      // RFC 826 merge: refresh an entry we have; add one when the packet is for us.
      if (this.arp.has(p.spa) || p.tpa === this.ip) this.learn(p.spa, p.sha);
    }
    if (p.op === ARP_OP_REQUEST && p.tpa === this.ip && p.spa !== 0 && !isGroupMac(p.sha)) {
      const reply = encodeArp({ op: ARP_OP_REPLY, sha: this.mac, spa: this.ip, tha: p.sha, tpa: p.spa });
      this.send(p.sha, ETHERTYPE_ARP, reply);
      this.ctx.counters.inc('softudc_emulated_arp_replies_total');
    }
  }

  private learn(ip: number, mac: number): void {
    if (!this.arp.has(ip) && this.arp.size >= ARP_CACHE_MAX) {
      const oldest = this.arp.keys().next();
      if (!oldest.done) this.arp.delete(oldest.value);
    }
    this.arp.delete(ip); // re-insert: Map order is then least recently learned first
    this.arp.set(ip, { mac, expires: Date.now() + ARP_TTL_MS });
    const waiters = this.arpWaiters.get(ip);
    if (waiters) {
      this.arpWaiters.delete(ip);
      for (const w of waiters) w(mac);
    }
  }

  private onIpv4(p: Ipv4Packet, srcMac: number): void {
    const c = this.ctx.counters;
    if (p.dst !== this.ip) return void c.inc('softudc_emulated_rx_ignored_total');
    if (p.fragmentOffset !== 0 || p.flags & IPV4_FLAG_MF) return void c.inc('softudc_emulated_rx_fragments_total');
    if (p.protocol === IPPROTO_ICMP) {
      const m = decodeIcmp(p.payload);
      if (m.type === ICMP_ECHO_REQUEST) {
        const reply = encodeIcmp({ type: ICMP_ECHO_REPLY, code: 0, id: m.id, seq: m.seq, payload: m.payload });
        this.sendIpTo(srcMac, p.src, IPPROTO_ICMP, reply);
        c.inc('softudc_emulated_icmp_echo_replies_total');
      } else if (m.type === ICMP_ECHO_REPLY) {
        this.icmpHandlers.get(m.id)?.(m.id, m.seq, m.payload);
      }
    } else if (p.protocol === IPPROTO_UDP) {
      const u = decodeUdp(p.payload, { src: p.src, dst: p.dst });
      c.inc('softudc_emulated_udp_rx_packets_total');
      c.inc('softudc_emulated_udp_rx_bytes_total', u.payload.length);
      if (u.dstPort === UDP_ECHO_PORT) {
        const echo = encodeUdp({ srcPort: UDP_ECHO_PORT, dstPort: u.srcPort, payload: u.payload }, { src: this.ip, dst: p.src });
        this.sendIpTo(srcMac, p.src, IPPROTO_UDP, echo);
      } else {
        this.udpHandlers.get(u.dstPort)?.(u.payload);
      }
    } else {
      c.inc('softudc_emulated_rx_ignored_total');
    }
  }

  // ---- transmit ----

  private send(dstMac: number, ethertype: number, payload: Buffer): void {
    if (!this.running) return;
    this.ctx.counters.inc('softudc_emulated_tx_frames_total');
    this.onFrame(encodeEthernet({ dst: dstMac, src: this.mac, ethertype, payload }));
  }

  /** Sends an IPv4 datagram to a known next-hop MAC (no resolution). */
  sendIpTo(dstMac: number, dstIp: number, protocol: number, payload: Buffer): void {
    this.ipId = (this.ipId + 1) & 0xffff;
    this.send(dstMac, ETHERTYPE_IPV4, encodeIpv4({ id: this.ipId, protocol, src: this.ip, dst: dstIp, payload }));
  }

  /** Sends an IPv4 datagram, resolving the next hop first; false when it cannot be resolved in time. */
  async sendIp(dstIp: number, protocol: number, payload: Buffer, timeoutMs: number): Promise<boolean> {
    const mac = await this.resolve(dstIp, timeoutMs);
    if (mac === null) return false;
    this.sendIpTo(mac, dstIp, protocol, payload);
    return true;
  }

  /** The next hop's MAC from the cache, or by ARP within `timeoutMs`; null when unreachable. */
  async resolve(dstIp: number, timeoutMs: number): Promise<number | null> {
    const hop = this.nextHop(dstIp);
    if (hop === null) return null;
    const hit = this.arp.get(hop);
    if (hit && hit.expires > Date.now()) return hit.mac;
    return new Promise<number | null>((resolve) => {
      let done = false;
      let tries = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (mac: number | null) => {
        if (done) return;
        done = true;
        if (timer) this.cancel(timer);
        this.arpWaiters.get(hop)?.delete(finish);
        resolve(mac);
      };
      let set = this.arpWaiters.get(hop);
      if (!set) this.arpWaiters.set(hop, (set = new Set()));
      set.add(finish);
      const step = Math.max(1, Math.floor(timeoutMs / ARP_RETRIES));
      const ask = () => {
        if (done) return;
        if (tries++ >= ARP_RETRIES || !this.running) return finish(null);
        this.ctx.counters.inc('softudc_emulated_arp_requests_total');
        this.send(BROADCAST_MAC, ETHERTYPE_ARP, encodeArp({ op: ARP_OP_REQUEST, sha: this.mac, spa: this.ip, tha: 0, tpa: hop }));
        if (done) return; // answered synchronously (a co-located guest)
        timer = this.timer(ask, step);
      };
      ask();
    });
  }

  private nextHop(dstIp: number): number | null {
    if (inPrefix(dstIp, this.ip, this.prefixLen)) return dstIp;
    return this.gateway;
  }

  /**
   * A one-shot timer owned by this guest: unref'd, and fired at once when the
   * guest stops, so that nothing waiting on it (a ping, a stream) hangs.
   */
  timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      this.running ? ms : 0,
    );
    t.unref();
    this.timers.set(t, fn);
    return t;
  }

  cancel(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.timers.delete(t);
  }

  get maxPayload(): number {
    return this.mtu - IPV4_UDP_OVERHEAD;
  }

  /** Registers the receiver of echo replies with ICMP id `id`; returns the unregister function. */
  onEchoReply(id: number, fn: (id: number, seq: number, payload: Buffer) => void): () => void {
    this.icmpHandlers.set(id, fn);
    return () => this.icmpHandlers.delete(id);
  }

  /** Registers the receiver of UDP datagrams to local port `port`; returns the unregister function. */
  onUdp(port: number, fn: (payload: Buffer) => void): () => void {
    this.udpHandlers.set(port, fn);
    return () => this.udpHandlers.delete(port);
  }

  /** A free ICMP id or UDP source port among those in use. */
  freeId(used: 'icmp' | 'udp'): number {
    const map = used === 'icmp' ? this.icmpHandlers : this.udpHandlers;
    for (;;) {
      const n = used === 'icmp' ? Math.floor(Math.random() * 0xffff) + 1 : 49152 + Math.floor(Math.random() * 16384);
      if (!map.has(n)) return n;
    }
  }

  encodeUdpTo(dstIp: number, srcPort: number, dstPort: number, payload: Buffer): Buffer {
    return encodeUdp({ srcPort, dstPort, payload }, { src: this.ip, dst: dstIp });
  }

  ping(target: string | number, opts: PingOptions = {}): Promise<PingResult> {
    return runPing(this, typeof target === 'string' ? parseIp(target) : target, opts);
  }

  udpStream(target: string | number, opts: UdpStreamOptions = {}): Promise<UdpStreamResult> {
    return runUdpStream(this, typeof target === 'string' ? parseIp(target) : target, opts);
  }

  get isRunning(): boolean {
    return this.running;
  }
}

export function createEmulatedGuest(vif: VifSpec, ctx: GuestContext): EmulatedGuest {
  return new EmulatedGuest(vif, ctx);
}
