// Proxy mode of a vnetd (spec "RELAY", seed 002 firewall traversal): the
// relay answers REQUESTs for VIFs behind it with the PROXY flag and its own
// COA, and forwards the unicast FRAMEs it then receives to the real COA. With
// a proxy on each side of a firewall, a frame goes host -> local vnetd ->
// far vnetd -> host, and only vnetd-to-vnetd traffic crosses.
//
// The table holds a route per (vnet, MAC): on this LAN (the real COA) or far
// (the peer vnetd that proxies it), learnt from announcements and answers that
// pass through, with the VARP lifetime. Every ANNOUNCE or WITHDRAW a proxy
// passes on carries its own COA, so hosts on each side only ever point at
// their own vnetd. Pending requests are tracked by nonce:
// - out:  a LAN host's REQUEST relayed to the peers; the far answer is re-signed for it,
// - in:   a far REQUEST re-asked on the LAN under our own nonce; the LAN answer goes back to the peer,
// - self: our own resolution of a destination that unicast FRAMEs wait for.
// With a VARP key, a GRATUITOUS ANNOUNCE teaches no route (wire.md "VARP
// freshness": it may be a replay): it is passed on as a hint, and one from
// this LAN is checked by a unicast REQUEST to the COA it names; only the
// signed answer carrying our nonce is learnt.
//
// The route table is bounded per vnet and in all (a flood of announcements
// must not grow it without end): a new route beyond a bound is not learnt,
// counted as `route_table_full`. The sweep never throws: an error in one
// pending request (a bug) drops it, counted, reported in the log.
import { randomInt } from 'node:crypto';
import {
  FRAME_VNET_OFFSET,
  VARP_ANNOUNCE,
  VARP_FLAG_GRATUITOUS,
  VARP_FLAG_HAS_IP,
  VARP_FLAG_PROXY,
  VARP_REQUEST,
  VARP_WITHDRAW,
  encodeVarp,
  isGroupMac,
  type VarpMessage,
} from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import { VnetMap } from '../varp/vnet-map.ts';
import { isVirtualVnet } from '../varp/entry.ts';
import { RELAY_COUNTERS as C, type Endpoint, type RelayIo, type RelaySettings } from './types.ts';

interface Route {
  vnet: number;
  mac: number;
  coa: number;
  port: number;
  ip: number | null;
  version: number;
  far: boolean;
  since: number;
  refreshing: boolean;
}

interface Pending {
  kind: 'out' | 'in' | 'self';
  nonce: number;
  vnet: number;
  /** 0 for a REQUEST by IP. */
  mac: number;
  ip: number | null;
  /** out: the LAN requester; in: the peer vnetd that asked. */
  reply: Endpoint | null;
  /** in: the far requester's nonce. */
  origNonce: number;
  queue: Buffer[];
  sent: number;
  /** When to retry (self) or give up (out, in). */
  due: number;
}

export interface ProxyLink {
  readonly io: RelayIo;
  readonly counters: Counters;
  settings(): RelaySettings;
  relayOut(inner: Buffer, origin: number, kind: 'varp' | 'frame'): void;
  floodLan(buf: Buffer, exclude: readonly number[]): void;
  /** A bug on the packet path or in a timer, for the log (rate-limited there). */
  reportBug(where: string, err: unknown): void;
}

/** Pending requests kept at most (a flood of REQUESTs must not grow the table without bound). */
const MAX_PENDING = 4096;
/** Routes kept at most on one vnet, and in all. */
export const MAX_ROUTES_PER_VNET = 16_384;
export const MAX_ROUTES = 65_536;
const SWEEP_MS = 250;
const now = (): number => performance.now();

export interface ProxyRouteView {
  vnet: number;
  mac: number;
  ip: number | null;
  coa: number;
  far: boolean;
  version: number;
  ageMs: number;
}

export class ProxyTable {
  private readonly routes = new VnetMap<Route>();
  private readonly byIp = new VnetMap<number>();
  private readonly pending = new Map<number, Pending>();
  private readonly resolving = new VnetMap<Pending>();
  private readonly timer: NodeJS.Timeout;
  private nextRouteSweep = 0;

  constructor(private readonly link: ProxyLink) {
    this.timer = setInterval(() => this.sweepSafely(), SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const p of this.pending.values()) this.drop(p.queue.length, 'stopped');
    this.pending.clear();
    this.resolving.clear();
  }

  // --- VARP heard on this LAN (not from a peer vnetd); true when consumed ---

  onLanVarp(msg: VarpMessage, buf: Buffer, from: Endpoint): boolean {
    const { io } = this.link;
    if (msg.opcode === VARP_REQUEST) {
      if (msg.mac === 0 ? io.localByIp(msg.vnet, msg.ip) : io.local(msg.vnet, msg.mac)) return false; // our engine answers
      const r = this.lookup(msg.vnet, msg.mac, msg.ip);
      if (r && this.fresh(r.route)) {
        if (!r.route.far) return false; // it lives on this LAN: its host answers
        this.send(this.announce(msg.vnet, r.mac, r.route, msg.nonce, VARP_FLAG_PROXY), from);
        this.link.counters.inc(C.proxyAnswers('lan'));
        return true;
      }
      this.track({ kind: 'out', nonce: msg.nonce, vnet: msg.vnet, mac: msg.mac, ip: msg.mac === 0 ? msg.ip : null, reply: from, origNonce: 0 });
      this.link.relayOut(buf, from.address, 'varp');
      return false;
    }
    const gratuitous = (msg.flags & VARP_FLAG_GRATUITOUS) !== 0;
    if (msg.opcode === VARP_ANNOUNCE && gratuitous) {
      const port = from.address === msg.coa ? from.port : this.link.settings().port;
      if (this.link.settings().key) {
        if (this.older(msg)) return false;
        this.verify(msg.vnet, msg.mac, { address: msg.coa, port });
        this.link.relayOut(this.rewrite(msg, msg.nonce), from.address, 'varp');
        return false;
      }
      if (this.learn(msg, { address: msg.coa, port }, false)) this.link.relayOut(this.rewrite(msg, msg.nonce), from.address, 'varp');
      return false;
    }
    if (msg.opcode === VARP_WITHDRAW) {
      const r = this.routes.get(msg.vnet, msg.mac);
      if (r && (r.coa !== msg.coa || msg.version < r.version)) return false; // stale: the VIF is elsewhere by now
      if (r) this.forget(msg.vnet, msg.mac);
      this.link.relayOut(this.rewrite(msg, 0), from.address, 'varp');
      return false;
    }
    // An answer: to a far REQUEST we re-asked here, or to our own resolution.
    const p = this.pending.get(msg.nonce);
    if (!p || p.kind === 'out' || !answers(p, msg)) return false;
    const port = from.address === msg.coa ? from.port : this.link.settings().port;
    this.learn(msg, { address: msg.coa, port }, false);
    this.complete(p, msg);
    return true;
  }

  // --- an answer sent to us by a peer vnetd (unicast); true when consumed ---

  onPeerVarp(msg: VarpMessage, from: Endpoint): boolean {
    if (msg.opcode !== VARP_ANNOUNCE || msg.flags & VARP_FLAG_GRATUITOUS) return false;
    const p = this.pending.get(msg.nonce);
    if (!p || p.kind === 'in' || !answers(p, msg)) return false; // perhaps our engine's own REQUEST
    this.learn(msg, { address: msg.coa, port: from.address === msg.coa ? from.port : this.link.settings().port }, true);
    this.complete(p, msg);
    return true;
  }

  // --- the inner VARP message of a RELAY from peer `via` ---

  onFarVarp(msg: VarpMessage, inner: Buffer, origin: number, via: Endpoint): void {
    const { io, counters } = this.link;
    if (msg.opcode === VARP_REQUEST) {
      const local = msg.mac === 0 ? io.localByIp(msg.vnet, msg.ip) : io.local(msg.vnet, msg.mac);
      if (local) {
        const route: Route = { vnet: msg.vnet, mac: local.mac, coa: 0, port: 0, ip: local.ip, version: local.version, far: false, since: now(), refreshing: false };
        this.send(this.announce(msg.vnet, local.mac, route, msg.nonce, 0), via);
        counters.inc(C.proxyAnswers('far'));
        return;
      }
      const r = this.lookup(msg.vnet, msg.mac, msg.ip);
      if (r && this.fresh(r.route)) {
        if (r.route.far) return void counters.inc(C.proxyIgnored('request_for_other_segment'));
        this.send(this.announce(msg.vnet, r.mac, r.route, msg.nonce, VARP_FLAG_PROXY), via);
        counters.inc(C.proxyAnswers('far'));
        return;
      }
      // Ask our LAN under our own nonce and COA: the answer must come to us, not to a host it cannot reach.
      const p = this.track({ kind: 'in', nonce: this.newNonce(), vnet: msg.vnet, mac: msg.mac, ip: msg.mac === 0 ? msg.ip : null, reply: via, origNonce: msg.nonce });
      if (p) this.firstRequest(p, false);
      return;
    }
    const exclude = [origin, via.address];
    if (msg.opcode === VARP_ANNOUNCE) {
      if (!(msg.flags & VARP_FLAG_GRATUITOUS)) return void counters.inc(C.proxyIgnored('relayed_answer'));
      // With a key only a hint: hosts here ask us, and we ask the peer, under fresh nonces.
      if (this.link.settings().key ? this.older(msg) : !this.learn(msg, { address: msg.coa, port: via.address === msg.coa ? via.port : this.link.settings().port }, true)) return;
      io.handleVarp(msg, via); // this host's own VIFs reach it through the peer
      this.link.floodLan(this.rewrite(msg, msg.nonce), exclude);
      counters.inc(C.reflooded('varp'));
      return;
    }
    // WITHDRAW
    const r = this.routes.get(msg.vnet, msg.mac);
    if (r && (r.coa !== msg.coa || msg.version < r.version)) return void counters.inc(C.proxyIgnored('stale_withdraw'));
    if (r) this.forget(msg.vnet, msg.mac);
    io.handleVarp(msg, via);
    this.link.floodLan(this.rewrite(msg, 0), exclude);
    counters.inc(C.reflooded('varp'));
  }

  // --- a unicast FRAME; true when forwarded, queued or dropped here ---

  onFrame(buf: Buffer, from: Endpoint): boolean {
    const { io, counters } = this.link;
    const dst = io.frameDestination(buf);
    if (dst === null || isGroupMac(dst)) return false;
    const vnet = buf.readUInt32BE(FRAME_VNET_OFFSET);
    // vnet 0 and 1 are no vnet anyone resolves on: the dispatcher drops the frame (frame_bad_vnet).
    // A vnet this relay does not carry is none of its business: the switch drops and counts it.
    if (!isVirtualVnet(vnet) || !io.carries(vnet)) return false;
    if (io.local(vnet, dst)) return false; // for this host's own switch
    const r = this.routes.get(vnet, dst);
    if (r && this.fresh(r)) {
      if (r.coa === from.address) {
        counters.inc(C.proxyDropped('loop'));
        return true;
      }
      io.sendTo(buf, r.coa, r.port);
      counters.inc(C.proxyForwarded(r.far ? 'far' : 'lan'));
      const s = this.link.settings();
      if (!r.refreshing && now() - r.since > s.lifetimeMs - Math.min(3000, s.lifetimeMs / 4)) {
        r.refreshing = true;
        this.resolve(vnet, dst);
      }
      return true;
    }
    const p = this.resolve(vnet, dst);
    if (!p || p.queue.length >= this.link.settings().queueLimit) counters.inc(C.proxyDropped(p ? 'queue_overflow' : 'too_many_pending'));
    else {
      // A copy: `buf` is a view into the underlay's receive batch, which the queue must not keep alive.
      p.queue.push(Buffer.from(buf));
      counters.inc(C.proxyQueued);
    }
    return true;
  }

  routeViews(): ProxyRouteView[] {
    const t = now();
    return [...this.routes.values()]
      .filter((r) => this.fresh(r))
      .map((r) => ({ vnet: r.vnet, mac: r.mac, ip: r.ip, coa: r.coa, far: r.far, version: r.version, ageMs: Math.round(t - r.since) }));
  }

  // --- internals ---

  /** True (and counted) when a fresh route knows a newer location version than `msg`. */
  private older(msg: VarpMessage): boolean {
    const cur = this.routes.get(msg.vnet, msg.mac);
    if (!cur || !this.fresh(cur) || msg.version >= cur.version) return false;
    this.link.counters.inc(C.proxyIgnored('stale_version'));
    return true;
  }

  /** One unicast REQUEST to `at` under a fresh nonce (or the resolution's under way): its signed answer is learnt. */
  private verify(vnet: number, mac: number, at: Endpoint): void {
    if (!this.link.io.carries(vnet)) return;
    let p = this.resolving.get(vnet, mac);
    if (!p) {
      p = this.track({ kind: 'self', nonce: this.newNonce(), vnet, mac, ip: null, reply: null, origNonce: 0 }) ?? undefined;
      if (!p) return;
      p.sent = this.link.settings().requestCount; // asked once, here: no flooded retries
    }
    const s = this.link.settings();
    const req = encodeVarp({ opcode: VARP_REQUEST, vnet, mac, flags: 0, ip: 0, coa: s.ownCoa, nonce: p.nonce, version: 0 }, s.key);
    this.link.io.sendTo(req, at.address, at.port);
    this.link.counters.inc(C.proxyRequests);
  }

  /** Records where (vnet, MAC) is; false when the message is older than what we know. */
  private learn(msg: VarpMessage, at: Endpoint, far: boolean): boolean {
    const cur = this.routes.get(msg.vnet, msg.mac);
    if (cur && this.fresh(cur) && msg.version < cur.version) {
      this.link.counters.inc(C.proxyIgnored('stale_version'));
      return false;
    }
    if (!cur && (this.routes.size >= MAX_ROUTES || this.routes.sizeOf(msg.vnet) >= MAX_ROUTES_PER_VNET)) {
      this.link.counters.inc(C.proxyIgnored('route_table_full'));
      return false;
    }
    const ip = msg.flags & VARP_FLAG_HAS_IP ? msg.ip : null;
    if (cur?.ip != null && cur.ip !== ip && this.byIp.get(msg.vnet, cur.ip) === msg.mac) this.byIp.delete(msg.vnet, cur.ip);
    this.routes.set(msg.vnet, msg.mac, { vnet: msg.vnet, mac: msg.mac, coa: at.address, port: at.port, ip, version: msg.version, far, since: now(), refreshing: false });
    if (ip !== null) this.byIp.set(msg.vnet, ip, msg.mac);
    this.link.counters.inc(C.proxyRoutesLearnt(far ? 'far' : 'lan'));
    return true;
  }

  private forget(vnet: number, mac: number, withdrawn = true): void {
    const r = this.routes.get(vnet, mac);
    if (!r) return;
    if (r.ip !== null && this.byIp.get(vnet, r.ip) === mac) this.byIp.delete(vnet, r.ip);
    this.routes.delete(vnet, mac);
    if (withdrawn) this.link.counters.inc(C.proxyRoutesWithdrawn);
  }

  private lookup(vnet: number, mac: number, ip: number): { mac: number; route: Route } | undefined {
    const m = mac !== 0 ? mac : this.byIp.get(vnet, ip);
    if (m === undefined) return undefined;
    const route = this.routes.get(vnet, m);
    return route ? { mac: m, route } : undefined;
  }

  private fresh(r: Route): boolean {
    return now() - r.since < this.link.settings().lifetimeMs;
  }

  /** A pending request answered: pass the answer on, or release the frames waiting for it. */
  private complete(p: Pending, msg: VarpMessage): void {
    this.untrack(p);
    if (p.kind === 'self') {
      const r = this.routes.get(p.vnet, msg.mac);
      if (!r) return this.drop(p.queue.length, 'unresolved');
      for (const f of p.queue) this.link.io.sendTo(f, r.coa, r.port);
      if (p.queue.length > 0) this.link.counters.inc(C.proxyForwarded(r.far ? 'far' : 'lan'), p.queue.length);
      return;
    }
    const route = this.routes.get(p.vnet, msg.mac);
    if (!route || !p.reply) return;
    this.send(this.announce(p.vnet, msg.mac, route, p.kind === 'in' ? p.origNonce : p.nonce, VARP_FLAG_PROXY), p.reply);
    this.link.counters.inc(C.proxyAnswers(p.kind === 'in' ? 'far' : 'lan'));
  }

  /** Starts (or joins) our own resolution of (vnet, MAC). Null when too much is pending. */
  private resolve(vnet: number, mac: number): Pending | null {
    const cur = this.resolving.get(vnet, mac);
    if (cur) return cur;
    const p = this.track({ kind: 'self', nonce: this.newNonce(), vnet, mac, ip: null, reply: null, origNonce: 0 });
    if (p) this.firstRequest(p, true);
    return p;
  }

  /** The first REQUEST of a new pending request; it is not kept when that throws (a bug). */
  private firstRequest(p: Pending, toPeers: boolean): void {
    try {
      this.request(p, toPeers);
    } catch (err) {
      this.untrack(p);
      throw err;
    }
  }

  /** A REQUEST under our COA and the pending nonce: on the LAN, and for our own resolutions to the peers too. */
  private request(p: Pending, toPeers: boolean): void {
    const s = this.link.settings();
    p.sent++;
    p.due = now() + s.requestIntervalMs;
    const req = encodeVarp(
      { opcode: VARP_REQUEST, vnet: p.vnet, mac: p.mac, flags: p.mac === 0 ? VARP_FLAG_HAS_IP : 0, ip: p.mac === 0 ? p.ip! : 0, coa: s.ownCoa, nonce: p.nonce, version: 0 },
      s.key,
    );
    this.link.floodLan(req, []);
    if (toPeers) this.link.relayOut(req, s.ownCoa, 'varp');
    this.link.counters.inc(C.proxyRequests);
  }

  private track(init: Omit<Pending, 'queue' | 'sent' | 'due'>): Pending | null {
    if (this.pending.size >= MAX_PENDING) {
      this.link.counters.inc(C.proxyIgnored('too_many_pending'));
      return null;
    }
    const s = this.link.settings();
    const p: Pending = { ...init, queue: [], sent: 0, due: now() + s.requestIntervalMs * s.requestCount };
    this.pending.set(p.nonce, p);
    if (p.kind === 'self') this.resolving.set(p.vnet, p.mac, p);
    return p;
  }

  private untrack(p: Pending): void {
    if (this.pending.get(p.nonce) === p) this.pending.delete(p.nonce);
    if (p.kind === 'self' && this.resolving.get(p.vnet, p.mac) === p) this.resolving.delete(p.vnet, p.mac);
  }

  private sweepSafely(): void {
    try {
      this.sweep();
    } catch (err) {
      this.link.counters.inc(C.sweepErrors);
      this.link.reportBug('proxy sweep', err);
    }
  }

  private sweep(): void {
    const t = now();
    const s = this.link.settings();
    for (const p of [...this.pending.values()]) {
      if (t < p.due) continue;
      try {
        if (p.kind === 'self' && p.sent < s.requestCount) {
          this.request(p, true);
          continue;
        }
      } catch (err) {
        // A bug: this request goes (its frames counted), the others carry on.
        this.untrack(p);
        this.drop(p.queue.length, 'handler_error');
        this.link.counters.inc(C.sweepErrors);
        this.link.reportBug('proxy request retry', err);
        continue;
      }
      this.untrack(p);
      if (p.kind === 'self') {
        this.drop(p.queue.length, 'unresolved');
        const r = this.routes.get(p.vnet, p.mac);
        if (r) r.refreshing = false;
      }
    }
    // Expiry is checked on use; forget routes long past it so the table does not only grow.
    if (t < this.nextRouteSweep) return;
    this.nextRouteSweep = t + Math.min(5_000, s.lifetimeMs / 2);
    for (const r of [...this.routes.values()]) if (t - r.since > 2 * s.lifetimeMs) this.forget(r.vnet, r.mac, false);
  }

  private drop(n: number, reason: string): void {
    if (n > 0) this.link.counters.inc(C.proxyDropped(reason), n);
  }

  private announce(vnet: number, mac: number, r: Route, nonce: number, flags: number): Buffer {
    const s = this.link.settings();
    return encodeVarp(
      { opcode: VARP_ANNOUNCE, vnet, mac, flags: flags | (r.ip !== null ? VARP_FLAG_HAS_IP : 0), ip: r.ip ?? 0, coa: s.ownCoa, nonce, version: r.version },
      s.key,
    );
  }

  /** The same ANNOUNCE or WITHDRAW with our COA: hosts on the other side reach the VIF through us. */
  private rewrite(msg: VarpMessage, nonce: number): Buffer {
    const s = this.link.settings();
    this.link.counters.inc(C.proxyRewritten);
    return encodeVarp({ ...msg, coa: s.ownCoa, nonce, flags: (msg.flags & (VARP_FLAG_HAS_IP | VARP_FLAG_GRATUITOUS)) | VARP_FLAG_PROXY }, s.key);
  }

  private send(buf: Buffer, to: Endpoint): void {
    this.link.io.sendTo(buf, to.address, to.port);
  }

  private newNonce(): number {
    for (;;) {
      const n = randomInt(0, 0x1_0000_0000);
      if (!this.pending.has(n)) return n;
    }
  }
}

function answers(p: Pending, msg: VarpMessage): boolean {
  if (msg.vnet !== p.vnet) return false;
  if (p.mac !== 0) return msg.mac === p.mac;
  return (msg.flags & VARP_FLAG_HAS_IP) !== 0 && msg.ip === p.ip;
}
