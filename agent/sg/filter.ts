// A VIF's security groups on the packet path (contract/securityGroups.ts):
// the switch calls egress() for a frame its guest sent (after port security)
// and ingress() before it delivers a frame to the guest, whether from
// another local port or from the underlay. Stateful with the firewall
// engine's connection tracking (agent/firewall/conntrack.ts), one table per
// VIF: a packet of an open connection costs one lookup and passes in either
// direction; a new flow is matched against the compiled rules
// (agent/sg/rules.ts) of its direction and protocol, counted on the rule
// that allowed it, and opens a connection. ARP always passes; other
// non-IPv4 frames (IPv6, VLAN-tagged, LLC) are dropped. Drops are counted
// by direction and reason and logged under a token bucket shared by the
// host's VIFs. Longer than 300 lines: one VIF's packet path (established
// fast path, revoked connections, related ICMP errors, fragments) is one
// class whose parts share its per-packet scratch state.
import type { Counters } from '../metrics.ts';
import { Conntrack, type ConnBudget, type ConntrackTimeouts, type Conn } from '../firewall/conntrack.ts';
import * as F from '../firewall/flow.ts';
import { emptyFlow, readFlow, readQuotedFlow, type Flow } from '../firewall/flow.ts';
import * as W from '../wire/index.ts';
import { compileGroups, matchSg, protoSlot, type CompiledGroups, type CompiledSgRule, type HitCell, type SgDirection, type SgPacket } from './rules.ts';
import type { SecurityGroupSpec } from '../../contract/securityGroups.ts';
import { SgCatalog } from './sets.ts';
import type { TokenBucket } from '../limit/bucket.ts';
import type { SgDropLog } from './log.ts';
import { connView, protocolName, ruleView, type SgConnView, type SgVifView } from './view.ts';

export const SG_DROP_REASONS = ['no_rule', 'ethertype', 'malformed', 'invalid', 'fragment', 'conntrack_full'] as const;
export type SgDropReason = (typeof SG_DROP_REASONS)[number];

/** Connections one VIF keeps at most (a quarter of a firewall's): new flows beyond are dropped and counted. */
export const SG_CONNTRACK_MAX = 16_384;
/**
 * Against a flood of first packets on an allowed ingress port: a full table
 * makes room by dropping an unreplied connection (early drop), an unanswered
 * SYN is kept 10 s (not the firewall's 30 s), and connections the guest opens
 * have an eighth of the table that ingress flows cannot take.
 */
export const SG_SYN_SENT_MS = 10_000;
const EGRESS_RESERVE = 8;
const FRAGMENT_HOLD_MS = 30_000;
/** The longest ICMP error (IP total length) taken as related to a connection (RFC 1812 4.3.2.3: at most 576 bytes). */
const ICMP_ERROR_MAX = 576;
const FRAGMENTS_MAX = 1024;
const IPV4_MIN = 20;
// Imported constants copied into this module: an imported binding may be an
// accessor once compiled (a getter call per use on the packet path).
const { ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipToString } = W;
const { ICMP_ERROR_TYPES, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } = F;
const IP_FRAG_AT = ETH_HEADER_LEN + 6;
const IP_PROTO_AT = ETH_HEADER_LEN + 9;
const IP_SRC_AT = ETH_HEADER_LEN + 12;
const IP_DST_AT = ETH_HEADER_LEN + 16;

/**
 * Milliseconds since the epoch, refreshed every 50 ms: connection timeouts
 * are seconds, and a clock read per packet is not free. Refreshed on apply
 * too, so a state change sees the time it happens.
 */
let clock = Date.now();
setInterval(() => {
  clock = Date.now();
}, 50).unref();
function tickClock(): void {
  clock = Date.now();
}

const DROP_NAMES: Record<SgDirection, Record<SgDropReason, string>> = {
  ingress: Object.fromEntries(SG_DROP_REASONS.map((r) => [r, `softudc_sg_drops_total{direction="ingress",reason="${r}"}`])) as Record<SgDropReason, string>,
  egress: Object.fromEntries(SG_DROP_REASONS.map((r) => [r, `softudc_sg_drops_total{direction="egress",reason="${r}"}`])) as Record<SgDropReason, string>,
};

export interface VifFilterDeps {
  counters: Counters;
  log: SgDropLog;
  /** Overrides of the connection-tracking timeouts and bound (tests). */
  conntrack?: Partial<ConntrackTimeouts>;
  /** The host's budget of connections over all filtered VIFs (sgBudget()); none: only the per-VIF bound. */
  budget?: ConnBudget;
}

/** Connections all filtered VIFs of a host keep together (8 full VIF tables, about 70 MB). */
export const SG_HOST_CONNECTIONS_MAX = 131_072;

/** A host-wide connection budget for the VIF filters of one agent. */
export function sgBudget(max = SG_HOST_CONNECTIONS_MAX): ConnBudget {
  return { used: 0, max, refused: 0 };
}

export class VifFilter {
  readonly conntrack: Conntrack;
  readonly connectionsMax: number;
  /** This VIF's share of the host's drop log. */
  private readonly logBucket: TokenBucket;
  /** Connections ingress flows may open (the rest is kept for the guest's own). */
  private readonly ingressMax: number;
  private compiled: CompiledGroups;
  private readonly cells = new Map<string, HitCell>();
  /** The connection tag of each rule: direction, group and rule (Conn.ingress holds it). */
  private readonly tags = new WeakMap<CompiledSgRule, string>();
  private readonly flow: Flow = emptyFlow();
  /** What the established path reads (the 5-tuple, flags, length). */
  private readonly fast: Flow = { ...emptyFlow(), hasPorts: true };
  /** The connection the last established packet belonged to; forgotten whenever connections are closed here. */
  private last: Conn | undefined = undefined;
  private readonly quoted: Flow = emptyFlow();
  private readonly pkt: SgPacket = { protocol: 0, remote: 0, dstPort: 0, hasPorts: false, icmpType: -1, icmpCode: -1 };
  private readonly fragments = new Map<string, number>();
  private readonly drops = { ingress: new Float64Array(SG_DROP_REASONS.length), egress: new Float64Array(SG_DROP_REASONS.length) };
  private ids: string[];
  /** The versions of the groups (and sets) as last applied, to tell a real change from a repeat. */
  signature: string;

  /** `groups`: the host's catalog (agent/sg/sets.ts), or a list of groups without address sets. */
  constructor(
    readonly vif: string,
    ids: readonly string[],
    groups: SgCatalog | readonly SecurityGroupSpec[],
    private readonly deps: VifFilterDeps,
  ) {
    const catalog = asCatalog(groups);
    this.connectionsMax = deps.conntrack?.maxConnections ?? SG_CONNTRACK_MAX;
    this.conntrack = new Conntrack({ synSentMs: SG_SYN_SENT_MS, earlyDrop: true, ...deps.conntrack, maxConnections: this.connectionsMax }, deps.budget);
    this.logBucket = deps.log.vifBucket();
    this.ingressMax = this.connectionsMax - Math.floor(this.connectionsMax / EGRESS_RESERVE);
    this.ids = [...ids];
    this.compiled = compileGroups(ids, catalog, this.cells);
    this.signature = catalog.signature(ids);
    this.conntrack.start();
    tickClock();
  }

  /**
   * New groups or rules: recompiled at once. Open connections that the new
   * rules still allow (in the direction that opened them) stay open; the
   * others are revoked: kept as tombstones that drop their packets in both
   * directions until a FIN or RST ends them or they time out, so neither
   * end can carry the stream on as a new connection (a mid-stream packet of
   * the other end, allowed by an open egress, would otherwise be picked up).
   * A new SYN on a tombstone's ports is judged by the rules again.
   */
  update(ids: readonly string[], groups: SgCatalog | readonly SecurityGroupSpec[]): boolean {
    const catalog = asCatalog(groups);
    const sig = catalog.signature(ids);
    if (sig === this.signature) return false;
    this.signature = sig;
    this.ids = [...ids];
    this.compiled = compileGroups(ids, catalog, this.cells);
    this.last = undefined;
    // Later fragments follow a first fragment the old rules allowed: the new rules judge them afresh.
    this.fragments.clear();
    tickClock();
    const p = this.pkt;
    const now = Date.now();
    this.conntrack.sweep(now, (c) => {
      const dir: SgDirection = c.ingress.charCodeAt(0) === 105 ? 'ingress' : 'egress'; // 'i'
      p.protocol = c.protocol;
      p.remote = dir === 'egress' ? c.b : c.a;
      p.dstPort = c.bPort;
      p.hasPorts = c.protocol !== IPPROTO_ICMP;
      p.icmpType = c.protocol === IPPROTO_ICMP ? ICMP_ECHO_REQUEST : -1;
      p.icmpCode = c.protocol === IPPROTO_ICMP ? 0 : -1;
      c.revoked = matchSg(this.compiled[dir][protoSlot(c.protocol)]!, p) === undefined;
      return false;
    });
    return true;
  }

  stop(): void {
    this.last = undefined;
    this.conntrack.stop();
    this.conntrack.clear();
  }

  /** A frame the guest sent: true when it may go on. Never throws. */
  egress(frame: Buffer): boolean {
    return this.check(frame, 'egress');
  }

  /** A frame for the guest: true when it may be delivered. Never throws. */
  ingress(frame: Buffer): boolean {
    return this.check(frame, 'ingress');
  }

  private check(frame: Buffer, dir: SgDirection): boolean {
    // Fields are read byte by byte: on the path every packet takes, Buffer's read methods cost a call each.
    const b = frame;
    if (b.length < ETH_HEADER_LEN) return this.drop(dir, 2, null);
    const type = (b[12]! << 8) | b[13]!;
    if (type === ETHERTYPE_ARP) return true;
    if (type !== ETHERTYPE_IPV4) return this.drop(dir, 1, null);
    if (b.length < ETH_HEADER_LEN + IPV4_MIN) return this.drop(dir, 2, null);
    const vihl = b[ETH_HEADER_LEN]!;
    const ihl = (vihl & 0x0f) * 4;
    const total = (b[ETH_HEADER_LEN + 2]! << 8) | b[ETH_HEADER_LEN + 3]!;
    if (vihl >>> 4 !== 4 || ihl < IPV4_MIN || total < ihl || ETH_HEADER_LEN + total > b.length) return this.drop(dir, 2, null);
    const now = clock;
    // Established TCP and UDP, unfragmented: the 5-tuple and flags read in place, one lookup.
    const proto = b[IP_PROTO_AT]!;
    const l4 = ETH_HEADER_LEN + ihl;
    if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && ((b[IP_FRAG_AT]! & 0x3f) | b[IP_FRAG_AT + 1]!) === 0 && total - ihl >= (proto === IPPROTO_TCP ? 14 : 4)) {
      const q = this.fast;
      q.protocol = proto;
      q.src = ((b[IP_SRC_AT]! << 24) | (b[IP_SRC_AT + 1]! << 16) | (b[IP_SRC_AT + 2]! << 8) | b[IP_SRC_AT + 3]!) >>> 0;
      q.dst = ((b[IP_DST_AT]! << 24) | (b[IP_DST_AT + 1]! << 16) | (b[IP_DST_AT + 2]! << 8) | b[IP_DST_AT + 3]!) >>> 0;
      q.srcPort = (b[l4]! << 8) | b[l4 + 1]!;
      q.dstPort = (b[l4 + 2]! << 8) | b[l4 + 3]!;
      q.tcpFlags = proto === IPPROTO_TCP ? b[l4 + 13]! : 0;
      q.length = total;
      // The connection of the previous packet first (a stream's packets come in runs), then the table.
      let c = this.last;
      let cdir: 0 | 1 = 0;
      if (c !== undefined && c.protocol === proto && c.expires > now && c.a === q.src && c.b === q.dst && c.aPort === q.srcPort && c.bPort === q.dstPort) cdir = 0;
      else if (c !== undefined && c.protocol === proto && c.expires > now && c.a === q.dst && c.b === q.src && c.aPort === q.dstPort && c.bPort === q.srcPort) cdir = 1;
      else {
        c = this.conntrack.lookup(q, now);
        cdir = this.conntrack.lastDirection;
      }
      if (c !== undefined && c.revoked) {
        if (this.revoked(c, q, now)) return this.drop(dir, 0, q);
      } else if (c !== undefined && !(c.state === 'CLOSED' && (q.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN)) {
        this.last = c;
        return this.conntrack.advance(c, q, cdir, now) ? true : this.drop(dir, 3, q);
      }
    }
    const f = readFlow(frame, ETH_HEADER_LEN, ihl, this.flow);
    if (f.laterFragment) {
      const until = this.fragments.get(fragKey(f));
      return until !== undefined && until > now ? true : this.drop(dir, 4, f);
    }
    if (f.hasPorts) {
      const c = this.conntrack.lookup(f, now);
      if (c !== undefined && c.revoked) {
        if (this.revoked(c, f, now)) return this.drop(dir, 0, f);
      } else if (c !== undefined) {
        const cdir = this.conntrack.lastDirection;
        const reopen = c.state === 'CLOSED' && cdir === 0 && (f.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
        if (!reopen) return this.conntrack.advance(c, f, cdir, now) ? this.pass(f, now) : this.drop(dir, 3, f);
        this.last = undefined;
        this.conntrack.remove(c);
      }
    }
    const p = this.pkt;
    p.protocol = f.protocol;
    p.remote = dir === 'egress' ? f.dst : f.src;
    p.dstPort = f.dstPort;
    p.hasPorts = f.hasPorts && f.protocol !== IPPROTO_ICMP;
    p.icmpType = f.icmpType;
    p.icmpCode = f.protocol === IPPROTO_ICMP && f.l4Len >= 2 ? frame[f.l4 + 1]! : -1;
    if (f.protocol === IPPROTO_ICMP && ICMP_ERROR_TYPES.has(f.icmpType) && this.related(frame, f, dir, now)) return true;
    const rule = matchSg(this.compiled[dir][protoSlot(f.protocol)]!, p);
    if (rule === undefined) return this.drop(dir, 0, f);
    rule.cell.hits++;
    const echoReply = f.protocol === IPPROTO_ICMP && f.icmpType === ICMP_ECHO_REPLY;
    if (f.hasPorts && !echoReply && !(f.tcpFlags & TCP_RST)) {
      const pickedUp = f.protocol === IPPROTO_TCP && (f.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN;
      const limit = dir === 'ingress' ? this.ingressMax : this.connectionsMax;
      if (this.conntrack.open(f, this.tag(rule), 0, now, pickedUp, limit) === undefined) {
        const b = this.deps.budget;
        if (b !== undefined && b.used >= b.max) this.deps.counters.inc('softudc_sg_host_connections_full_total');
        return this.drop(dir, 5, f);
      }
    }
    return this.pass(f, now);
  }

  /**
   * An ICMP error related to an open connection (it then passes; any other
   * is judged by the rules): no longer than RFC 1812 lets a router make one,
   * quoting a packet of the connection that went the other way, between the
   * same two ends. Going out, the guest reports a packet it received: the
   * quoted source is the outer destination and the quoted destination the
   * outer source (the guest). Coming in, the quoted packet is one the guest
   * sent: its source is the outer destination; the outer source may be any
   * router on the way.
   */
  private related(frame: Buffer, f: Flow, dir: SgDirection, now: number): boolean {
    if (f.length > ICMP_ERROR_MAX) return false;
    const q = readQuotedFlow(frame, f, this.quoted);
    if (q === null || q.src !== f.dst) return false;
    if (dir === 'egress' && q.dst !== f.src) return false;
    const c = this.conntrack.lookup(q, now);
    if (c === undefined || c.revoked) return false;
    // The direction (0: as opened) of a packet towards the guest.
    const openedIn = c.ingress.charCodeAt(0) === 105 ? 0 : 1; // 'i'
    const quotedIn = this.conntrack.lastDirection === openedIn;
    return dir === 'egress' ? quotedIn : !quotedIn;
  }

  /**
   * A packet of a revoked connection: true when it is dropped (the
   * tombstone kept while packets come, until a FIN or RST); false for a new
   * SYN, which removes the tombstone and is judged by the rules.
   */
  private revoked(c: Conn, f: Flow, now: number): boolean {
    if (c.protocol === IPPROTO_TCP) {
      const fl = f.tcpFlags;
      if ((fl & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        if (this.last === c) this.last = undefined;
        this.conntrack.remove(c);
        return false;
      }
      if (fl & (TCP_FIN | TCP_RST)) c.state = 'CLOSED'; // ended: the tombstone runs out after the closed timeout
    }
    this.conntrack.hold(c, now);
    return true;
  }

  private tag(r: CompiledSgRule): string {
    let t = this.tags.get(r);
    if (t === undefined) this.tags.set(r, (t = `${r.direction}\u0000${r.group}\u0000${r.rule}`));
    return t;
  }

  private pass(f: Flow, now: number): boolean {
    if (f.firstFragment) {
      if (this.fragments.size >= FRAGMENTS_MAX) for (const [k, t] of this.fragments) if (t <= now) this.fragments.delete(k);
      if (this.fragments.size < FRAGMENTS_MAX) this.fragments.set(fragKey(f), now + FRAGMENT_HOLD_MS);
    }
    return true;
  }

  private drop(dir: SgDirection, reason: number, f: Flow | null): false {
    this.drops[dir][reason]!++;
    const r = SG_DROP_REASONS[reason]!;
    this.deps.counters.inc(DROP_NAMES[dir][r]);
    const vif = this.vif;
    this.deps.log.denied(() => ({ vif, direction: dir, reason: r, ...(f ? flowFields(f) : {}) }), this.logBucket);
    return false;
  }

  /** Hits of every rule of the VIF's groups, by (group, rule). */
  hits(): { group: string; rule: string; direction: SgDirection; hits: number }[] {
    return this.compiled.all.map((r) => ({ group: r.group, rule: r.rule, direction: r.direction, hits: r.cell.hits }));
  }

  /** The rule that would allow a new flow with `p` in `dir`, or undefined (nothing counted). */
  wouldAllow(dir: SgDirection, p: SgPacket): CompiledSgRule | undefined {
    return matchSg(this.compiled[dir][protoSlot(p.protocol)]!, p);
  }

  rules(): readonly CompiledSgRule[] {
    return this.compiled.all;
  }

  connections(now = Date.now()): SgConnView[] {
    return this.conntrack.connections(now).map((c) => connView(c, now));
  }

  view(): SgVifView {
    const drops = (a: Float64Array) => Object.fromEntries(SG_DROP_REASONS.map((r, i) => [r, a[i]!])) as Record<SgDropReason, number>;
    return {
      groups: [...this.ids],
      rules: this.compiled.all.map(ruleView),
      connections: this.conntrack.size,
      connectionsMax: this.connectionsMax,
      drops: { ingress: drops(this.drops.ingress), egress: drops(this.drops.egress) },
    };
  }
}

const listCatalog = new SgCatalog();

/** A plain list of groups, applied to one catalog kept for lists: equal groups keep their versions. */
function asCatalog(groups: SgCatalog | readonly SecurityGroupSpec[]): SgCatalog {
  if (groups instanceof SgCatalog) return groups;
  listCatalog.apply(groups, []);
  return listCatalog;
}

function fragKey(f: Flow): string {
  return `${f.src}>${f.dst}/${f.protocol}#${f.ipId}`;
}

function flowFields(f: Flow): Record<string, unknown> {
  return {
    protocol: protocolName(f.protocol), src: ipToString(f.src), dst: ipToString(f.dst),
    ...(f.protocol === IPPROTO_ICMP ? { icmpType: f.icmpType } : { srcPort: f.srcPort, dstPort: f.dstPort }),
  };
}
