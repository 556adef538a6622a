// The IP layer of one virtual node (router or firewall), all in userspace
// (seed 001 claim 4: the IP stack of each virtual router lives outside the OS
// kernel): its own forwarding table, its own addresses, forwarding with TTL
// decrement and incremental checksum update (RFC 1624), fragmentation, ICMP
// errors (RFC 792, RFC 1812 4.3) under a rate limit, echo replies on its own
// addresses, and local UDP delivery for the routing protocol.
//
// Over 300 lines: receive, forward, NAT hooks and originate are one packet path, read together.
import {
  ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED, ICMP_TIME_EXCEEDED_TTL, ICMP_UNREACH_HOST, ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_NET, ICMP_UNREACH_PORT, IPPROTO_ICMP, IPPROTO_UDP, IPV4_FLAG_DF, IP_DEFAULT_TTL, WireError,
  decodeIcmp, decodeUdp, decrementTtl, encodeIcmp, encodeIpv4, encodeUdp, type IcmpMessage,
} from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { Fib } from './fib.ts';
import type { NodeInterface, PacketSink } from './iface.ts';
import {
  HEADROOM, IP_DST_OFFSET, IP_PROTOCOL_OFFSET, IP_SRC_OFFSET, IP_TOTAL_LEN_OFFSET, IP_TTL_OFFSET, LIMITED_BROADCAST,
  dontFragment, fragment, isFragment, isMartianSource, isMulticast, mayAnswerWithIcmpError, validIpv4,
} from './packet.ts';
import { TokenBucket } from '../limit/bucket.ts';
import { NodeStats, type NodeKind } from './stats.ts';

/** RFC 1812 4.3.2.3: quote as much of the offending datagram as fits in 576 bytes. */
const ICMP_QUOTE_MAX = 576 - 20 - 8;

export interface NodeOptions {
  kind: NodeKind;
  id: string;
  counters: Counters;
  logger: Logger;
  /** ICMP errors per second, and the burst allowed (RFC 1812 4.3.2.8 asks for a limit). */
  icmpRate?: number;
  icmpBurst?: number;
}

/**
 * A firewall's hook: true to let the packet at `off` pass from `ingress` to
 * `egress` (null: it is addressed to the node itself).
 */
export type PacketFilter = (buf: Buffer, off: number, ihl: number, ingress: NodeInterface, egress: NodeInterface | null) => boolean;

/**
 * NAT on external legs (agent/firewall/nat.ts): `inbound` before routing for
 * packets arriving on an external leg, `outbound` after routing and filtering
 * for packets leaving by one from inside. Both edit the packet in place (a
 * copy the node owns) and say whether it passes, is the node's, or is dropped.
 */
export interface NatHook {
  isExternal(iface: string): boolean;
  inbound(buf: Buffer, off: number, ihl: number, iface: string, now: number): 'pass' | 'local' | 'drop';
  outbound(buf: Buffer, off: number, ihl: number, iface: string, now: number): 'pass' | 'local' | 'drop';
}

export type UdpHandler = (ingress: NodeInterface, src: number, srcPort: number, dst: number, payload: Buffer) => void;

/** ICMP addressed to the node other than echo requests (echo replies, errors), for ping and traceroute. */
export type IcmpListener = (msg: IcmpMessage, src: number, ingress: NodeInterface) => void;

export interface SendOptions {
  dst: number;
  protocol: number;
  payload: Buffer;
  /** Source address; the egress interface's when absent. */
  src?: number;
  ttl?: number;
  /** Send out of this interface to `dst` directly (multicast, neighbours), bypassing the table. */
  via?: string;
  dontFragment?: boolean;
}

export class IpNode implements PacketSink {
  readonly fib = new Fib();
  readonly stats: NodeStats;
  readonly logger: Logger;
  filter: PacketFilter | null = null;
  nat: NatHook | null = null;
  private readonly ifaces = new Map<string, NodeInterface>();
  private readonly own = new Map<number, NodeInterface>();
  private readonly udp = new Map<number, UdpHandler>();
  private readonly icmpListeners = new Set<IcmpListener>();
  private readonly icmpBucket: TokenBucket;
  private ipId = Math.floor(Math.random() * 0x10000);

  constructor(o: NodeOptions) {
    this.stats = new NodeStats(o.counters, o.kind, o.id);
    this.logger = o.logger;
    this.icmpBucket = new TokenBucket(o.icmpRate ?? 100, o.icmpBurst ?? 50);
  }

  get id(): string {
    return this.stats.id;
  }

  // ---- interfaces ----

  /** Adds an interface and its connected route. Throws when the name is taken. */
  addInterface(i: NodeInterface): void {
    if (this.ifaces.has(i.name)) throw new Error(`${this.stats.kind} ${this.id}: interface ${i.name} already exists`);
    this.ifaces.set(i.name, i);
    this.own.set(i.ip, i);
    this.fib.add({ prefix: i.network, len: i.prefixLen, nextHop: null, iface: i.name, metric: 0, source: 'connected' });
  }

  /** Removes an interface, its address and every route out of it. */
  removeInterface(name: string): NodeInterface | undefined {
    const i = this.ifaces.get(name);
    if (!i) return undefined;
    this.ifaces.delete(name);
    if (this.own.get(i.ip) === i) this.own.delete(i.ip);
    this.fib.removeWhere((r) => r.iface === name);
    i.close();
    return i;
  }

  interface(name: string): NodeInterface | undefined {
    return this.ifaces.get(name);
  }

  interfaces(): NodeInterface[] {
    return [...this.ifaces.values()];
  }

  isOwnAddress(ip: number): boolean {
    return this.own.has(ip);
  }

  close(): void {
    for (const name of [...this.ifaces.keys()]) this.removeInterface(name);
    this.udp.clear();
    this.icmpListeners.clear();
  }

  onUdp(port: number, handler: UdpHandler): () => void {
    this.udp.set(port, handler);
    return () => {
      if (this.udp.get(port) === handler) this.udp.delete(port);
    };
  }

  onIcmp(listener: IcmpListener): () => void {
    this.icmpListeners.add(listener);
    return () => this.icmpListeners.delete(listener);
  }

  // ---- receive and forward ----

  /** An IPv4 packet at `off` in `buf` (not modified) arrived on `ingress`. Never throws. */
  receiveIp(ingress: NodeInterface, buf: Buffer, off: number): void {
    // No per-packet "received" counter: forwarded + local + dropped accounts for every packet.
    const st = this.stats;
    const ihl = validIpv4(buf, off);
    if (ihl === 0) return st.drop('malformed');
    const src = buf.readUInt32BE(off + IP_SRC_OFFSET);
    if (isMartianSource(src)) return st.drop('martian');
    const total = buf.readUInt16BE(off + IP_TOTAL_LEN_OFFSET);
    const nat = this.nat;
    let owned = false;
    if (nat !== null && nat.isExternal(ingress.name)) {
      // Translated before routing, in a copy the node owns (the caller's buffer is not modified).
      const copy = Buffer.allocUnsafe(HEADROOM + total);
      buf.copy(copy, HEADROOM, off, off + total);
      if (nat.inbound(copy, HEADROOM, ihl, ingress.name, Date.now()) === 'drop') return;
      buf = copy;
      off = HEADROOM;
      owned = true;
    }
    const dst = buf.readUInt32BE(off + IP_DST_OFFSET);
    if (this.own.has(dst) || dst === LIMITED_BROADCAST || dst === ingress.broadcast || isMulticast(dst)) {
      return this.deliverLocal(ingress, buf, off, ihl, total, src, dst);
    }
    const route = this.fib.lookup(dst);
    if (route === undefined) {
      this.icmpError(buf, off, ihl, total, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NET, ingress.ip);
      return st.drop('no_route');
    }
    const egress = this.ifaces.get(route.iface);
    if (egress === undefined) return st.drop('no_route');
    if (buf[off + IP_TTL_OFFSET]! <= 1) {
      this.icmpError(buf, off, ihl, total, ICMP_TIME_EXCEEDED, ICMP_TIME_EXCEEDED_TTL, ingress.ip);
      return st.drop('ttl_exceeded');
    }
    // RFC 1812 5.3.5.2: directed broadcasts are not forwarded by default.
    if (dst === egress.broadcast) return st.drop('not_forwarded');
    if (this.filter !== null && !this.filter(buf, off, ihl, ingress, egress)) return;
    if (total > egress.mtu && dontFragment(buf, off)) {
      this.icmpError(buf, off, ihl, total, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NEEDFRAG, ingress.ip, egress.mtu);
      return st.drop('too_big');
    }
    let out = buf;
    if (!owned) {
      out = Buffer.allocUnsafe(HEADROOM + total);
      buf.copy(out, HEADROOM, off, off + total);
    }
    if (nat !== null && !owned && nat.isExternal(egress.name) && nat.outbound(out, HEADROOM, ihl, egress.name, Date.now()) === 'drop') return;
    decrementTtl(out, HEADROOM);
    st.counters.inc(st.forwarded);
    this.transmit(egress, out, ihl, route.nextHop ?? dst);
  }

  /** Sends a frame (HEADROOM + packet with header length `ihl`), fragmenting to the egress MTU. */
  private transmit(egress: NodeInterface, frame: Buffer, ihl: number, nextHop: number): void {
    const total = frame.length - HEADROOM;
    if (total <= egress.mtu) return egress.output(frame, nextHop);
    const parts = fragment(frame, HEADROOM, ihl, total, egress.mtu);
    if (parts.length === 0) return this.stats.drop('too_big');
    this.stats.inc('fragments_created_total', undefined, parts.length);
    for (const p of parts) egress.output(p, nextHop);
  }

  hostUnreachable(_egress: NodeInterface, frames: Buffer[]): void {
    for (const f of frames) {
      this.stats.drop('host_unreachable');
      const ihl = validIpv4(f, HEADROOM);
      if (ihl === 0) continue;
      // The source is whichever address routes back to the sender (src left open).
      this.icmpError(f, HEADROOM, ihl, f.length - HEADROOM, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_HOST, null);
    }
  }

  private deliverLocal(ingress: NodeInterface, buf: Buffer, off: number, ihl: number, total: number, src: number, dst: number): void {
    const st = this.stats;
    const unicast = this.own.has(dst);
    if (this.filter !== null && !this.filter(buf, off, ihl, ingress, null)) return;
    if (isFragment(buf, off)) return st.drop('fragment'); // the node never needs large datagrams itself
    st.counters.inc(st.local);
    const protocol = buf[off + IP_PROTOCOL_OFFSET]!;
    const payload = buf.subarray(off + ihl, off + total);
    try {
      if (protocol === IPPROTO_ICMP) {
        if (!unicast) return st.drop('local_unhandled'); // no broadcast pings (RFC 1122 3.2.2.6 allows ignoring them)
        const m = decodeIcmp(payload);
        if (m.type === ICMP_ECHO_REQUEST) {
          st.inc('icmp_echo_replies_total');
          const reply = encodeIcmp({ type: ICMP_ECHO_REPLY, code: 0, id: m.id, seq: m.seq, payload: m.payload });
          this.sendIp({ dst: src, protocol: IPPROTO_ICMP, payload: reply, src: dst });
          return;
        }
        for (const l of this.icmpListeners) l(m, src, ingress);
        return;
      }
      if (protocol === IPPROTO_UDP) {
        const u = decodeUdp(payload, { src, dst });
        const h = this.udp.get(u.dstPort);
        if (h !== undefined) return h(ingress, src, u.srcPort, dst, u.payload);
        if (unicast) this.icmpError(buf, off, ihl, total, ICMP_DEST_UNREACHABLE, ICMP_UNREACH_PORT, dst);
        return st.drop('local_unhandled');
      }
      st.drop('local_unhandled');
    } catch (err) {
      if (!(err instanceof WireError)) {
        this.logger.warn('local packet handler failed', { node: this.id, error: (err as Error).message });
      }
      st.drop('malformed');
    }
  }

  // ---- originate ----

  /** Sends a datagram from the node itself; false when there is no route or interface for it. */
  sendIp(o: SendOptions): boolean {
    let egress: NodeInterface | undefined;
    let nextHop = o.dst;
    if (o.via !== undefined) egress = this.ifaces.get(o.via);
    else if (this.own.has(o.dst)) egress = this.own.get(o.dst);
    else {
      const r = this.fib.lookup(o.dst);
      if (r !== undefined) {
        egress = this.ifaces.get(r.iface);
        nextHop = r.nextHop ?? o.dst;
      }
    }
    if (egress === undefined) {
      this.stats.inc('originate_failed_total', 'reason="no_route"');
      return false;
    }
    this.ipId = (this.ipId + 1) & 0xffff;
    const pkt = encodeIpv4({
      id: this.ipId,
      ttl: o.ttl ?? IP_DEFAULT_TTL,
      flags: o.dontFragment ? IPV4_FLAG_DF : 0,
      protocol: o.protocol,
      src: o.src ?? egress.ip,
      dst: o.dst,
      payload: o.payload,
    });
    const frame = Buffer.allocUnsafe(HEADROOM + pkt.length);
    pkt.copy(frame, HEADROOM);
    // Out of an external leg, the node's own packets pass NAT too: its ICMP errors about translated
    // packets then quote them as the outside sent them.
    const nat = this.nat;
    if (nat !== null && nat.isExternal(egress.name) && nat.outbound(frame, HEADROOM, (pkt[0]! & 0x0f) * 4, egress.name, Date.now()) === 'drop') return false;
    this.stats.counters.inc(this.stats.originated);
    if (o.via === undefined && this.own.has(o.dst)) {
      this.receiveIp(egress, frame, HEADROOM); // to itself: no wire involved
      return true;
    }
    this.transmit(egress, frame, (pkt[0]! & 0x0f) * 4, nextHop);
    return true;
  }

  sendUdp(o: Omit<SendOptions, 'protocol' | 'payload'> & { srcPort: number; dstPort: number; payload: Buffer; src: number }): boolean {
    const udp = encodeUdp({ srcPort: o.srcPort, dstPort: o.dstPort, payload: o.payload }, { src: o.src, dst: o.dst });
    return this.sendIp({ ...o, protocol: IPPROTO_UDP, payload: udp });
  }

  private icmpError(
    buf: Buffer, off: number, ihl: number, total: number, type: number, code: number, src: number | null, mtu = 0,
  ): void {
    if (!mayAnswerWithIcmpError(buf, off, ihl, total)) return;
    const origSrc = buf.readUInt32BE(off + IP_SRC_OFFSET);
    if (!this.icmpBucket.take()) return this.stats.inc('icmp_rate_limited_total');
    const quoted = buf.subarray(off, off + Math.min(total, ICMP_QUOTE_MAX));
    const msg =
      type === ICMP_TIME_EXCEEDED
        ? encodeIcmp({ type: ICMP_TIME_EXCEEDED, code, payload: quoted })
        : encodeIcmp({ type: ICMP_DEST_UNREACHABLE, code, nextHopMtu: mtu, payload: quoted });
    this.stats.inc('icmp_errors_sent_total', `type="${type}",code="${code}"`);
    this.sendIp({ dst: origSrc, protocol: IPPROTO_ICMP, payload: msg, ...(src === null ? {} : { src }) });
  }
}
