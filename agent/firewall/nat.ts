// NAT on the external legs of a router or firewall (contract/nat.ts), on the
// firewall engine's connection tracking (conntrack.ts, whose connections
// carry the translation as a reply tuple):
// - outbound (inside → external leg, after routing and after the firewall's
//   rules, which therefore see inside addresses): a floating IP's internal
//   address leaves as its external one (ports kept); an address in an `snat`
//   prefix leaves as the leg's address with a source port (TCP/UDP) or echo
//   identifier (ICMP) allocated so that replies map back one-to-one;
// - inbound (external leg → inside, before routing): a packet of a NATed
//   connection is translated back; a new flow to a floating IP or a port
//   forward is translated to its inside address; one to the leg's own address
//   is the node's; anything else is dropped and counted, so that the outside
//   never reaches an inside address directly, whatever it routes to the leg;
// - ICMP errors about a NATed connection are translated in both directions,
//   the quoted datagram included.
// Translation edits the packet in place (the caller owns the buffer) with
// incremental checksum updates (rewrite.ts).
//
// Over 300 lines: the inbound, outbound and ICMP-error paths share one
// connection model (original and reply tuples) and are read together.
import { ICMP_ECHO_REQUEST, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, inPrefix, ipToString, parseCidr, parseIp } from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import type { NatSpec } from '../../contract/nat.ts';
import { Conntrack, type Conn, type ConntrackTimeouts, type Direction } from './conntrack.ts';
import { ICMP_ERROR_TYPES, TCP_ACK, TCP_SYN, emptyFlow, readFlow, readQuotedFlow, type Flow } from './flow.ts';
import { refreshIcmpChecksum, setAddress, setEchoId, setPort } from './rewrite.ts';

/** Source ports a masquerade allocates (Linux's ip_local_port_range default starts at 32768; ours below the well-known ones). */
export const NAT_PORT_MIN = 1024;
export const NAT_PORT_MAX = 65_535;

export interface NatLeg {
  /** The node interface's name. */
  iface: string;
  /** The leg's own address. */
  ip: number;
  nat: NatSpec;
}

export interface NatOptions {
  /** Where the counters go and how they are labelled (`router="r1"`). */
  counters: Counters;
  label: string;
  timeouts?: Partial<ConntrackTimeouts>;
  portMin?: number;
  portMax?: number;
}

/** Why NAT dropped a packet (`softudc_nat_dropped_packets_total{reason}`). */
export type NatDropReason =
  | 'unmapped' // inbound on an external leg with no floating IP, port forward or NAT state for it
  | 'invalid' // a packet that cannot open a translation (TCP without SYN, a stray reply) and has none
  | 'ports_exhausted' // no free source port or echo identifier for a new masqueraded flow
  | 'conntrack_full' // the connection table is full
  | 'unsupported'; // a masqueraded address sending a protocol without ports (only floating IPs map those)

export type NatVerdict = 'pass' | 'local' | 'drop';

export interface NatEntryView {
  protocol: number;
  leg: string;
  kind: 'snat' | 'floating' | 'forward';
  /** The original direction as it arrived, and the reply direction as it arrives. */
  original: string;
  reply: string;
  state: string;
  expiresInMs: number;
}

interface Leg {
  iface: string;
  ip: number;
  snat: { network: number; len: number }[];
}

interface Floating {
  leg: Leg;
  external: number;
  internal: number;
}

interface Forward {
  leg: Leg;
  internal: number;
  internalPort: number;
}

const kinds = new WeakMap<Conn, NatEntryView['kind']>();

export class Nat {
  readonly conntrack: Conntrack;
  private legs = new Map<string, Leg>();
  private byExternal = new Map<number, Floating>();
  private byInternal = new Map<number, Floating>();
  private forwards = new Map<string, Forward>();
  private forwardPorts = new Set<string>();
  private readonly flow: Flow = emptyFlow();
  private readonly quoted: Flow = emptyFlow();
  private readonly rev: Flow = emptyFlow();
  private readonly portMin: number;
  private readonly portMax: number;
  private readonly names = new Map<string, string>();
  private readonly counters: Counters;
  private readonly label: string;
  private configured = '';
  /** Hot-path counter names, built once. */
  private readonly translatedIn: string;
  private readonly translatedOut: string;

  constructor(o: NatOptions) {
    this.counters = o.counters;
    this.label = o.label;
    this.conntrack = new Conntrack(o.timeouts);
    this.portMin = o.portMin ?? NAT_PORT_MIN;
    this.portMax = o.portMax ?? NAT_PORT_MAX;
    this.translatedIn = this.name('translated_packets_total', 'direction="in"');
    this.translatedOut = this.name('translated_packets_total', 'direction="out"');
  }

  start(): void {
    this.conntrack.start();
  }

  stop(): void {
    this.conntrack.stop();
    this.conntrack.clear();
  }

  /** Whether `iface` is an external leg. */
  isExternal(iface: string): boolean {
    return this.legs.has(iface);
  }

  get active(): boolean {
    return this.legs.size > 0;
  }

  /** Sets the external legs; a changed configuration drops the translations made under the old one. */
  configure(legs: readonly NatLeg[]): void {
    const key = JSON.stringify(legs);
    if (key === this.configured) return;
    this.configured = key;
    this.legs = new Map();
    this.byExternal = new Map();
    this.byInternal = new Map();
    this.forwards = new Map();
    this.forwardPorts = new Set();
    for (const l of legs) {
      const leg: Leg = { iface: l.iface, ip: l.ip, snat: l.nat.snat.map((n) => parseCidr(n)).map((c) => ({ network: c.network, len: c.prefixLen })) };
      this.legs.set(l.iface, leg);
      for (const f of l.nat.floatingIps) {
        const fl = { leg, external: parseIp(f.external), internal: parseIp(f.internal) };
        this.byExternal.set(fl.external, fl);
        this.byInternal.set(fl.internal, fl);
      }
      for (const p of l.nat.portForwards) {
        const proto = p.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
        const ext = parseIp(p.external);
        this.forwards.set(fwdKey(proto, ext, p.externalPort), { leg, internal: parseIp(p.internal), internalPort: p.internalPort });
        this.forwardPorts.add(fwdKey(proto, ext, p.externalPort));
      }
    }
    this.conntrack.clear();
  }

  /** The addresses leg `iface` answers ARP for besides its own: its floating IPs and forward addresses. */
  extraAddresses(iface: string): number[] {
    const out = new Set<number>();
    for (const f of this.byExternal.values()) if (f.leg.iface === iface) out.add(f.external);
    for (const [k, f] of this.forwards) {
      const ip = Number(k.split('/')[1]);
      if (f.leg.iface === iface && ip !== f.leg.ip) out.add(ip);
    }
    return [...out];
  }

  /**
   * A packet arrived on external leg `iface` (`buf` is the caller's to edit):
   * translated in place ('pass'), the node's own ('local'), or refused ('drop', counted).
   */
  inbound(buf: Buffer, off: number, ihl: number, iface: string, now: number): NatVerdict {
    const leg = this.legs.get(iface)!;
    const f = readFlow(buf, off, ihl, this.flow);
    if (f.laterFragment) {
      const fl = this.byExternal.get(f.dst);
      if (fl) return this.readdress('in', buf, off, 'dst', fl.internal, f.protocol, -1, 0);
      return f.dst === leg.ip ? 'local' : this.drop('unmapped');
    }
    if (f.protocol === IPPROTO_ICMP && ICMP_ERROR_TYPES.has(f.icmpType)) {
      if (this.icmpError(buf, off, f)) return this.translated('in');
      return f.dst === leg.ip ? 'local' : this.drop('unmapped');
    }
    if (!f.hasPorts) {
      const fl = this.byExternal.get(f.dst);
      if (fl) return this.readdress('in', buf, off, 'dst', fl.internal, f.protocol, f.l4, f.l4Len);
      return f.dst === leg.ip ? 'local' : this.drop('unmapped');
    }
    const c = this.conntrack.lookup(f, now);
    if (c !== undefined) return this.follow(buf, off, f, c, this.conntrack.lastDirection, now, 'in');
    const fl = this.byExternal.get(f.dst);
    const fwd = fl ? undefined : this.forwards.get(fwdKey(f.protocol, f.dst, f.dstPort));
    if (!fl && !fwd) return f.dst === leg.ip ? 'local' : this.drop('unmapped');
    if (!opens(f)) return this.drop('invalid');
    const internal = fl ? fl.internal : fwd!.internal;
    const internalPort = fl ? f.dstPort : fwd!.internalPort;
    const conn = this.conntrack.open(f, iface, 'default', now, false, undefined, { src: internal, srcPort: internalPort, dst: f.src, dstPort: f.srcPort });
    if (conn === undefined) return this.drop('conntrack_full');
    kinds.set(conn, fl ? 'floating' : 'forward');
    this.apply(buf, off, f, conn, 0);
    return this.translated('in');
  }

  /**
   * A packet routed out of external leg `iface` from inside: translated in
   * place ('pass', also for addresses NAT does not cover) or refused ('drop').
   */
  outbound(buf: Buffer, off: number, ihl: number, iface: string, now: number): NatVerdict {
    const leg = this.legs.get(iface)!;
    const f = readFlow(buf, off, ihl, this.flow);
    if (f.hasPorts) {
      // The common case first: a packet of a tracked connection.
      const c = this.conntrack.lookup(f, now);
      if (c !== undefined) return this.follow(buf, off, f, c, this.conntrack.lastDirection, now, 'out');
    }
    const fl = this.byInternal.get(f.src);
    const masq = fl === undefined && masquerades(leg, f.src);
    if (f.laterFragment) {
      // The ports were in the first fragment; later ones only need the address.
      if (fl) return this.readdress('out', buf, off, 'src', fl.external, f.protocol, -1, 0);
      if (masq) return this.readdress('out', buf, off, 'src', leg.ip, f.protocol, -1, 0);
      return 'pass';
    }
    if (f.protocol === IPPROTO_ICMP && ICMP_ERROR_TYPES.has(f.icmpType)) {
      if (this.icmpError(buf, off, f)) return this.translated('out');
      if (fl) return this.readdress('out', buf, off, 'src', fl.external, f.protocol, f.l4, f.l4Len);
      return masq ? this.drop('invalid') : 'pass';
    }
    if (!f.hasPorts) {
      if (fl) return this.readdress('out', buf, off, 'src', fl.external, f.protocol, f.l4, f.l4Len);
      return masq ? this.drop('unsupported') : 'pass';
    }
    if (!fl && !masq) return 'pass';
    if (!opens(f)) return this.drop('invalid');
    const ext = fl ? fl.external : leg.ip;
    const port = this.allocate(f, ext, fl !== undefined, now);
    if (port < 0) return this.drop('ports_exhausted');
    const conn = this.conntrack.open(f, iface, 'default', now, false, undefined, { src: f.dst, srcPort: f.dstPort, dst: ext, dstPort: port });
    if (conn === undefined) return this.drop('conntrack_full');
    kinds.set(conn, fl ? 'floating' : 'snat');
    this.apply(buf, off, f, conn, 0);
    return this.translated('out');
  }

  /** A source port (or echo id) on `ext` for flow `f` whose reply tuple is free; -1 when none is. */
  private allocate(f: Flow, ext: number, keep: boolean, now: number): number {
    const free = (port: number) =>
      !(f.protocol !== IPPROTO_ICMP && this.forwardPorts.has(fwdKey(f.protocol, ext, port))) &&
      this.conntrack.isFree(f.protocol, f.dst, f.dstPort, ext, port, now);
    const icmp = f.protocol === IPPROTO_ICMP;
    const lo = icmp ? 1 : this.portMin;
    const hi = icmp ? 0xffff : this.portMax;
    // Keep the port when it is free (a floating IP always tries to; masquerade within its range).
    if ((keep || (f.srcPort >= lo && f.srcPort <= hi)) && free(f.srcPort)) return f.srcPort;
    const span = hi - lo + 1;
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const p = lo + ((start + i) % span);
      if (free(p)) return p;
    }
    return -1;
  }

  /** A packet of a tracked connection: state advanced, then translated for its direction. */
  private follow(buf: Buffer, off: number, f: Flow, c: Conn, dir: Direction, now: number, way: 'in' | 'out'): NatVerdict {
    if (c.state === 'CLOSED' && dir === 0 && (f.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      // A new connection on a closed one's tuple: forget the old translation and start again.
      this.conntrack.remove(c);
      return way === 'in' ? this.inbound(buf, off, (buf[off]! & 0x0f) * 4, c.ingress, now) : this.outbound(buf, off, (buf[off]! & 0x0f) * 4, c.ingress, now);
    }
    if (!this.conntrack.advance(c, f, dir, now)) return this.drop('invalid');
    if (c.translated) this.apply(buf, off, f, c, dir);
    return this.translated(way);
  }

  /**
   * Rewrites packet `f` of connection `c` in direction `dir`: the original
   * direction leaves as (ra:raPort → rb:rbPort), the reply as (b:bPort → a:aPort).
   */
  private apply(buf: Buffer, off: number, f: Flow, c: Conn, dir: Direction): void {
    const src = dir === 0 ? c.ra : c.b;
    const sp = dir === 0 ? c.raPort : c.bPort;
    const dst = dir === 0 ? c.rb : c.a;
    const dp = dir === 0 ? c.rbPort : c.aPort;
    rewrite(buf, off, f, src, sp, dst, dp);
  }

  /**
   * An ICMP error about a tracked connection: its outer addresses and the
   * datagram it quotes translated; false when it relates to none.
   */
  private icmpError(buf: Buffer, off: number, f: Flow): boolean {
    const q = readQuotedFlow(buf, f, this.quoted);
    if (q === null) return false;
    // The error travels opposite to the datagram it quotes.
    const r = this.rev;
    r.protocol = q.protocol;
    r.src = q.dst;
    r.dst = q.src;
    r.srcPort = q.dstPort;
    r.dstPort = q.srcPort;
    const c = this.conntrack.lookup(r, Date.now());
    if (c === undefined || !c.translated) return false;
    const dir = this.conntrack.lastDirection;
    const qoff = f.l4 + 8;
    const qihl = (buf[qoff]! & 0x0f) * 4;
    const ql4 = qoff + qihl;
    const qLen = f.l4Len - 8 - qihl;
    // The quoted datagram went the other way, as translated; restore what its sender had.
    const qf = { protocol: q.protocol, l4: ql4, l4Len: qLen, icmpType: q.protocol === IPPROTO_ICMP ? buf[ql4]! : -1 };
    if (dir === 1) rewrite(buf, qoff, qf, c.a, c.aPort, c.b, c.bPort);
    else rewrite(buf, qoff, qf, c.rb, c.rbPort, c.ra, c.raPort);
    // The outer header: only the connection's own endpoints (a router on the path keeps its address).
    if (dir === 1) {
      if (f.dst === c.ra) setAddress(buf, off, 'dst', c.a, IPPROTO_ICMP, -1, 0);
      if (f.src === c.rb) setAddress(buf, off, 'src', c.b, IPPROTO_ICMP, -1, 0);
    } else {
      if (f.src === c.a) setAddress(buf, off, 'src', c.ra, IPPROTO_ICMP, -1, 0);
      if (f.dst === c.b) setAddress(buf, off, 'dst', c.rb, IPPROTO_ICMP, -1, 0);
    }
    refreshIcmpChecksum(buf, f.l4, f.l4Len);
    return true;
  }

  /** Sets one address (a floating IP's, or a later fragment's) and counts the translation. */
  private readdress(way: 'in' | 'out', buf: Buffer, off: number, which: 'src' | 'dst', ip: number, protocol: number, l4: number, l4Len: number): NatVerdict {
    setAddress(buf, off, which, ip, protocol, l4, l4Len);
    return this.translated(way);
  }

  private translated(way: 'in' | 'out'): NatVerdict {
    this.counters.inc(way === 'in' ? this.translatedIn : this.translatedOut);
    return 'pass';
  }

  private drop(reason: NatDropReason): NatVerdict {
    this.counters.inc(this.name('dropped_packets_total', `reason="${reason}"`));
    return 'drop';
  }

  private name(metric: string, extra: string): string {
    const k = `${metric}|${extra}`;
    let n = this.names.get(k);
    if (n === undefined) {
      n = `softudc_nat_${metric}{${this.label},${extra}}`;
      this.names.set(k, n);
    }
    return n;
  }

  /** The translations now in the table (for the node's view). */
  entries(now = Date.now()): NatEntryView[] {
    return this.conntrack
      .connections(now)
      .filter((c) => c.translated)
      .map((c) => ({
        protocol: c.protocol,
        leg: c.ingress,
        kind: kinds.get(c) ?? 'snat',
        original: `${ipToString(c.a)}:${c.aPort} -> ${ipToString(c.b)}:${c.bPort}`,
        reply: `${ipToString(c.rb)}:${c.rbPort} -> ${ipToString(c.ra)}:${c.raPort}`,
        state: c.state,
        expiresInMs: c.expires - now,
      }));
  }
}

function masquerades(leg: Leg, ip: number): boolean {
  for (const n of leg.snat) if (inPrefix(ip, n.network, n.len)) return true;
  return false;
}

function fwdKey(protocol: number, ip: number, port: number): string {
  return `${protocol}/${ip}/${port}`;
}

/** Whether a packet without a connection may open one (TCP SYN, any UDP, an echo request). */
function opens(f: Flow): boolean {
  if (f.protocol === IPPROTO_TCP) return (f.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
  if (f.protocol === IPPROTO_ICMP) return f.icmpType === ICMP_ECHO_REQUEST;
  return true;
}

/** Sets a packet's addresses and ports (or echo id) with checksum updates. */
function rewrite(buf: Buffer, off: number, f: { protocol: number; l4: number; l4Len: number; icmpType: number }, src: number, sp: number, dst: number, dp: number): void {
  setAddress(buf, off, 'src', src, f.protocol, f.l4, f.l4Len);
  setAddress(buf, off, 'dst', dst, f.protocol, f.l4, f.l4Len);
  if (f.protocol === IPPROTO_ICMP) setEchoId(buf, f.l4, f.l4Len, f.icmpType === ICMP_ECHO_REQUEST ? sp : dp);
  else {
    setPort(buf, f.protocol, f.l4, f.l4Len, 0, sp);
    setPort(buf, f.protocol, f.l4, f.l4Len, 1, dp);
  }
}
