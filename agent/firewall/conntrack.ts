// Stateful connection tracking for a virtual firewall (seed 002's virtual
// firewalls with stateful rules): a flow the rules allowed opens a connection;
// packets of either direction of an open connection pass without consulting
// the rules. TCP is followed through SYN_SENT → ESTABLISHED → FIN_WAIT →
// CLOSED (RFC 793 states, collapsed as a middlebox sees them; a CLOSED one
// passes only the last ACKs of a FIN exchange, is not refreshed, and a new
// SYN reopens it through the rules); UDP and ICMP
// echo "connections" live until an idle timeout. Lookups hash the 5-tuple to a
// number (no string per packet); expiry is lazy plus a periodic sweep.
// Connections may carry a translation (NAT, agent/firewall/nat.ts): their
// reply tuple then differs from the original reversed, and a second index
// finds replies by it (as Linux's conntrack keeps an original and a reply
// tuple per connection).
//
// Over 300 lines: the table and its reply index are one structure, kept in one place.
import * as W from '../wire/index.ts';
import * as F from './flow.ts';
import type { Flow } from './flow.ts';

// Copied into this module: an imported binding may compile to an accessor (a call per packet).
const { IPPROTO_ICMP, IPPROTO_TCP } = W;
const { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } = F;

export type ConnState = 'SYN_SENT' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSED' | 'UDP' | 'ICMP';

export interface ConntrackTimeouts {
  synSentMs: number;
  establishedMs: number;
  finWaitMs: number;
  closedMs: number;
  /** UDP before any reply, and once replies were seen (a "stream"). */
  udpMs: number;
  udpStreamMs: number;
  icmpMs: number;
  /** Connections kept at most; new flows beyond it are dropped and counted. */
  maxConnections: number;
  sweepMs: number;
  /**
   * When full, a new connection takes the place of an unreplied one (a
   * SYN_SENT or UDP/ICMP flow never answered), as Linux's early drop does,
   * so a flood of first packets cannot lock out flows that get answers.
   */
  earlyDrop?: boolean;
}

/** Entries early drop looks at, oldest buckets first, before it gives up. */
const EARLY_DROP_SCAN = 64;
/** A full table is swept at most this often on new flows (a sweep walks it all). */
const FULL_SWEEP_MS = 1_000;

/** Defaults after Linux nf_conntrack (tcp_timeout_syn_sent 120 s shortened; established 5 days shortened to 1 h). */
export const CONNTRACK_DEFAULTS: Readonly<ConntrackTimeouts> = {
  synSentMs: 30_000,
  establishedMs: 3_600_000,
  finWaitMs: 120_000,
  closedMs: 10_000,
  udpMs: 30_000,
  udpStreamMs: 180_000,
  icmpMs: 30_000,
  maxConnections: 65_536,
  sweepMs: 10_000,
};

export interface Conn {
  protocol: number;
  /** The originator (a) and responder (b), as the first packet had them. */
  a: number;
  aPort: number;
  b: number;
  bPort: number;
  state: ConnState;
  expires: number;
  /** FINs seen from the originator (1) and the responder (2). */
  fins: number;
  replied: boolean;
  /** No longer allowed (agent/sg after a rule change): its packets are dropped until it ends. */
  revoked: boolean;
  ingress: string;
  rule: number | 'default';
  packets: [number, number];
  bytes: [number, number];
  created: number;
  hash: number;
  /**
   * The reply direction as a packet has it, (rb:rbPort → ra:raPort): the
   * original reversed unless translated. A packet of the original direction
   * leaves as (ra:raPort → rb:rbPort), one of the reply direction as (b:bPort → a:aPort).
   */
  ra: number;
  raPort: number;
  rb: number;
  rbPort: number;
  translated: boolean;
  rhash: number;
}

/** The reply tuple of a translated connection, as a packet of the reply direction has it. */
export interface ReplyTuple {
  src: number;
  srcPort: number;
  dst: number;
  dstPort: number;
}

/**
 * Connections several tables share (agent/sg: every filtered VIF of a
 * host): a table refuses a new connection when the budget is spent, unless
 * early drop frees one of its own. `refused` counts the refusals.
 */
export interface ConnBudget {
  used: number;
  readonly max: number;
  refused: number;
}

export type Direction = 0 | 1; // 0: originator → responder, 1: the reply direction

function hash5(p: number, s: number, d: number, sp: number, dp: number): number {
  let h = Math.imul(s ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ d, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ ((sp << 16) | dp), 0x27d4eb2f);
  return (h ^ (h >>> 15) ^ p) | 0; // a signed 32-bit key stays a small integer (no heap number per lookup)
}

export class Conntrack {
  private table = new Map<number, Conn[]>();
  /** Translated connections by their reply tuple. */
  private replies = new Map<number, Conn[]>();
  private count = 0;
  /** The most buckets the table held since it was last rebuilt (a Map never shrinks its store on delete). */
  private peak = 0;
  private readonly t: ConntrackTimeouts;
  private sweeper: NodeJS.Timeout | null = null;
  /** Set by lookup(): the direction of the packet in the connection it found. */
  lastDirection: Direction = 0;
  /** Connections forgotten by early drop to make room. */
  earlyDrops = 0;
  private fullSweep = -Infinity;
  /** Where early drop looks next. */
  private scan: MapIterator<[number, Conn[]]> | undefined = undefined;

  constructor(timeouts: Partial<ConntrackTimeouts> = {}, private readonly budget?: ConnBudget) {
    this.t = { ...CONNTRACK_DEFAULTS, ...timeouts };
  }

  start(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(Date.now()), this.t.sweepMs);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  get size(): number {
    return this.count;
  }

  /** The open connection `f` belongs to (either direction), or undefined. Sets lastDirection. */
  lookup(f: Flow, now: number): Conn | undefined {
    const fwd = this.find(hash5(f.protocol, f.src, f.dst, f.srcPort, f.dstPort), f.protocol, f.src, f.srcPort, f.dst, f.dstPort, now);
    if (fwd) {
      this.lastDirection = 0;
      return fwd;
    }
    const rev = this.find(hash5(f.protocol, f.dst, f.src, f.dstPort, f.srcPort), f.protocol, f.dst, f.dstPort, f.src, f.srcPort, now);
    if (rev) {
      this.lastDirection = 1;
      return rev;
    }
    if (this.replies.size === 0) return undefined;
    const r = this.findReply(f.protocol, f.src, f.srcPort, f.dst, f.dstPort, now);
    if (r) this.lastDirection = 1;
    return r;
  }

  /** Whether a packet (src:srcPort → dst:dstPort) would belong to no connection: a free reply tuple for a new translation. */
  isFree(protocol: number, src: number, srcPort: number, dst: number, dstPort: number, now: number): boolean {
    if (this.findReply(protocol, src, srcPort, dst, dstPort, now)) return false;
    return !this.find(hash5(protocol, dst, src, dstPort, srcPort), protocol, dst, dstPort, src, srcPort, now);
  }

  private findReply(p: number, s: number, sp: number, d: number, dp: number, now: number): Conn | undefined {
    const h = hash5(p, s, d, sp, dp);
    const bucket = this.replies.get(h);
    if (bucket === undefined) return undefined;
    for (const c of bucket) {
      if (c.protocol === p && c.rb === s && c.ra === d && c.rbPort === sp && c.raPort === dp) {
        if (c.expires <= now) {
          this.remove(c);
          return undefined;
        }
        return c;
      }
    }
    return undefined;
  }

  private find(h: number, p: number, a: number, ap: number, b: number, bp: number, now: number): Conn | undefined {
    const bucket = this.table.get(h);
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) {
      const c = bucket[i]!;
      if (c.protocol === p && c.a === a && c.b === b && c.aPort === ap && c.bPort === bp) {
        if (c.expires <= now) {
          this.removeAt(bucket, i, h);
          return undefined;
        }
        return c;
      }
    }
    return undefined;
  }

  /**
   * Opens a connection for an allowed first packet; undefined when the table
   * is full. `pickedUp`: a TCP packet in the middle of a stream nobody saw
   * begin (a guest that moved here), taken up as ESTABLISHED, as Linux does
   * with nf_conntrack_tcp_loose. `reply` (NAT): the reply tuple of a
   * translated connection.
   */
  open(f: Flow, ingress: string, rule: number | 'default', now: number, pickedUp = false, limit = this.t.maxConnections, reply?: ReplyTuple): Conn | undefined {
    if (this.count >= limit) {
      if (now - this.fullSweep >= FULL_SWEEP_MS) {
        this.fullSweep = now;
        this.sweep(now);
      }
      if (this.count >= limit && !(this.t.earlyDrop && this.dropUnreplied(now))) return undefined;
    }
    const b = this.budget;
    if (b !== undefined && b.used >= b.max && !(this.t.earlyDrop && this.dropUnreplied(now))) {
      b.refused++;
      return undefined;
    }
    const h = hash5(f.protocol, f.src, f.dst, f.srcPort, f.dstPort);
    const state: ConnState = f.protocol === IPPROTO_TCP ? (pickedUp ? 'ESTABLISHED' : 'SYN_SENT') : f.protocol === IPPROTO_ICMP ? 'ICMP' : 'UDP';
    const c: Conn = {
      protocol: f.protocol, a: f.src, aPort: f.srcPort, b: f.dst, bPort: f.dstPort, state, expires: 0, fins: 0, replied: false, revoked: false,
      ingress, rule, packets: [1, 0], bytes: [f.length, 0], created: now, hash: h,
      ra: f.src, raPort: f.srcPort, rb: f.dst, rbPort: f.dstPort, translated: false, rhash: 0,
    };
    if (reply !== undefined && (reply.src !== f.dst || reply.srcPort !== f.dstPort || reply.dst !== f.src || reply.dstPort !== f.srcPort)) {
      c.rb = reply.src;
      c.rbPort = reply.srcPort;
      c.ra = reply.dst;
      c.raPort = reply.dstPort;
      c.translated = true;
      c.rhash = hash5(f.protocol, reply.src, reply.dst, reply.srcPort, reply.dstPort);
      const rb = this.replies.get(c.rhash);
      if (rb) rb.push(c);
      else this.replies.set(c.rhash, [c]);
    }
    c.expires = now + this.timeoutOf(c);
    let bucket = this.table.get(h);
    if (!bucket) {
      this.table.set(h, (bucket = []));
      if (this.table.size > this.peak) this.peak = this.table.size;
    }
    bucket.push(c);
    this.count++;
    if (b !== undefined) b.used++;
    return c;
  }

  /**
   * Early drop: forgets one unreplied (or expired) connection, looking at a
   * few buckets from where the last look stopped; false when none was found.
   */
  private dropUnreplied(now: number): boolean {
    for (let seen = 0; seen < EARLY_DROP_SCAN; seen++) {
      let next = this.scan?.next();
      if (next === undefined || next.done) {
        this.scan = this.table.entries();
        next = this.scan.next();
        if (next.done) return false;
      }
      const [h, bucket] = next.value;
      for (let i = 0; i < bucket.length; i++) {
        const c = bucket[i]!;
        if (c.expires <= now || (!c.replied && !c.revoked && (c.state === 'SYN_SENT' || c.state === 'UDP' || c.state === 'ICMP'))) {
          this.removeAt(bucket, i, h);
          this.earlyDrops++;
          return true;
        }
      }
    }
    return false;
  }

  /** Advances `c` with a packet in direction `dir`; returns false when the packet must not pass. */
  advance(c: Conn, f: Flow, dir: Direction, now: number): boolean {
    // A closed TCP connection is not kept alive by what comes. Closed by both FINs (TIME_WAIT), it
    // passes the last ACKs and retransmitted FINs; closed by a RST, nothing. A SYN never passes: the
    // originator's new SYN is the caller's to judge (it removes this one and opens another through the rules).
    if (c.state === 'CLOSED') {
      if (c.fins !== 3 || f.tcpFlags & TCP_SYN) return false;
      c.packets[dir]++;
      c.bytes[dir] += f.length;
      return true;
    }
    c.packets[dir]++;
    c.bytes[dir] += f.length;
    if (dir === 1) c.replied = true;
    if (c.protocol === IPPROTO_TCP) {
      const fl = f.tcpFlags;
      if (fl & TCP_RST) c.state = 'CLOSED';
      else if (c.state === 'SYN_SENT') {
        if (dir === 1 && fl & TCP_SYN && fl & TCP_ACK) c.state = 'ESTABLISHED';
        else if (dir === 1 && !(fl & TCP_SYN)) return false; // the responder must answer the SYN first
      } else if (fl & TCP_FIN) {
        c.fins |= dir === 0 ? 1 : 2;
        c.state = c.fins === 3 ? 'CLOSED' : 'FIN_WAIT';
      }
    }
    c.expires = now + this.timeoutOf(c);
    return true;
  }

  /** Keeps `c` for its state's timeout from `now` (a revoked connection still seeing packets). */
  hold(c: Conn, now: number): void {
    c.expires = now + this.timeoutOf(c);
  }

  private timeoutOf(c: Conn): number {
    switch (c.state) {
      case 'SYN_SENT': return this.t.synSentMs;
      case 'ESTABLISHED': return this.t.establishedMs;
      case 'FIN_WAIT': return this.t.finWaitMs;
      case 'CLOSED': return this.t.closedMs;
      case 'UDP': return c.replied ? this.t.udpStreamMs : this.t.udpMs;
      case 'ICMP': return this.t.icmpMs;
    }
  }

  /** Removes expired connections (and, with `drop`, those it selects); returns how many went. */
  sweep(now: number, drop?: (c: Conn) => boolean): number {
    let n = 0;
    for (const [h, bucket] of this.table) {
      for (let i = bucket.length - 1; i >= 0; i--) {
        const c = bucket[i]!;
        if (c.expires <= now || (drop && drop(c))) {
          this.removeAt(bucket, i, h);
          n++;
        }
      }
    }
    // After a mass expiry, a table at a quarter of its peak is rebuilt at its size: the memory comes back.
    if (this.peak >= 1024 && this.table.size * 4 <= this.peak) {
      this.scan = undefined;
      this.table = new Map(this.table);
      this.replies = new Map(this.replies);
      this.peak = this.table.size;
    }
    return n;
  }

  /** Forgets one connection (a new SYN on a closed one reopens it through the rules). */
  remove(c: Conn): void {
    const bucket = this.table.get(c.hash);
    const i = bucket ? bucket.indexOf(c) : -1;
    if (bucket && i >= 0) this.removeAt(bucket, i, c.hash);
  }

  private removeAt(bucket: Conn[], i: number, h: number): void {
    const c = bucket[i]!;
    c.expires = 0; // a caller holding it (agent/sg's last connection) sees it is gone
    bucket.splice(i, 1);
    if (bucket.length === 0) this.table.delete(h);
    this.count--;
    if (c.translated) {
      const rb = this.replies.get(c.rhash);
      const j = rb ? rb.indexOf(c) : -1;
      if (rb && j >= 0) {
        rb.splice(j, 1);
        if (rb.length === 0) this.replies.delete(c.rhash);
      }
    }
    if (this.budget !== undefined) this.budget.used--;
  }

  connections(now = Date.now()): Conn[] {
    const out: Conn[] = [];
    for (const bucket of this.table.values()) for (const c of bucket) if (c.expires > now) out.push(c);
    return out.sort((x, y) => x.created - y.created);
  }

  clear(): void {
    if (this.budget !== undefined) this.budget.used -= this.count;
    this.scan = undefined;
    this.table = new Map();
    this.replies = new Map();
    this.count = 0;
    this.peak = 0;
  }
}
