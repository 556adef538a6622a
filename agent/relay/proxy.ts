// Proxy mode of a vnetd (spec "RELAY", seed 002 firewall traversal): the
// relay answers REQUESTs for VIFs behind it with the PROXY flag and its own
// COA, and forwards the unicast FRAMEs it then receives to the real COA. With
// a proxy on each side of a firewall, a frame goes host -> local vnetd ->
// far vnetd -> host, and only vnetd-to-vnetd traffic crosses.
//
// Its route table is routes.ts, its pending requests (by nonce) pending.ts,
// the messages it originates (all under its own COA) messages.ts.
// With a VARP key, a GRATUITOUS ANNOUNCE teaches no route (wire.md "VARP
// freshness": it may be a replay): it is passed on as a hint, and one from
// this LAN is checked by a unicast REQUEST to the COA it names; only the
// signed answer carrying our nonce is learnt.
// The sweep never throws: an error in one pending request (a bug) drops it,
// counted, reported in the log.
import {
  FRAME_VNET_OFFSET,
  VARP_ANNOUNCE,
  VARP_FLAG_GRATUITOUS,
  VARP_FLAG_PROXY,
  VARP_REQUEST,
  VARP_WITHDRAW,
  isGroupMac,
  type VarpMessage,
} from '../wire/index.ts';
import { isVirtualVnet } from '../varp/entry.ts';
import { ProxyRoutes, now, type ProxyRoute, type ProxyRouteView } from './routes.ts';
import { PendingRequests, answers, type Pending } from './pending.ts';
import { proxyAnnounce, proxyRequest, proxyRewrite } from './messages.ts';

export { MAX_ROUTES, MAX_ROUTES_PER_VNET, type ProxyRouteView } from './routes.ts';
import { RELAY_COUNTERS as C, type Endpoint, type ProxyLink } from './types.ts';

export type { ProxyLink } from './types.ts';

const SWEEP_MS = 250;

export class ProxyTable {
  private readonly routes: ProxyRoutes;
  private readonly pending: PendingRequests;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly link: ProxyLink) {
    this.routes = new ProxyRoutes(link.counters, () => link.settings().lifetimeMs);
    this.pending = new PendingRequests(link);
    this.timer = setInterval(() => this.sweepSafely(), SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const p of this.pending.values()) this.drop(p.queue.length, 'stopped');
    this.pending.clear();
  }

  // --- VARP heard on this LAN (not from a peer vnetd); true when consumed ---

  onLanVarp(msg: VarpMessage, buf: Buffer, from: Endpoint): boolean {
    const { io } = this.link;
    if (msg.opcode === VARP_REQUEST) {
      if (msg.mac === 0 ? io.localByIp(msg.vnet, msg.ip) : io.local(msg.vnet, msg.mac)) return false; // our engine answers
      const r = this.routes.lookup(msg.vnet, msg.mac, msg.ip);
      if (r && this.routes.fresh(r.route)) {
        if (!r.route.far) return false; // it lives on this LAN: its host answers
        this.send(this.announce(msg.vnet, r.mac, r.route, msg.nonce, VARP_FLAG_PROXY), from);
        this.link.counters.inc(C.proxyAnswers('lan'));
        return true;
      }
      this.pending.track({ kind: 'out', nonce: msg.nonce, vnet: msg.vnet, mac: msg.mac, ip: msg.mac === 0 ? msg.ip : null, reply: from, origNonce: 0 });
      this.link.relayOut(buf, from.address, 'varp');
      return false;
    }
    const gratuitous = (msg.flags & VARP_FLAG_GRATUITOUS) !== 0;
    if (msg.opcode === VARP_ANNOUNCE && gratuitous) {
      const port = from.address === msg.coa ? from.port : this.link.settings().port;
      if (this.link.settings().key) {
        if (this.routes.older(msg)) return false;
        this.verify(msg.vnet, msg.mac, { address: msg.coa, port });
        this.link.relayOut(this.rewrite(msg, msg.nonce), from.address, 'varp');
        return false;
      }
      if (this.routes.learn(msg, { address: msg.coa, port }, false)) this.link.relayOut(this.rewrite(msg, msg.nonce), from.address, 'varp');
      return false;
    }
    if (msg.opcode === VARP_WITHDRAW) {
      const r = this.routes.get(msg.vnet, msg.mac);
      if (r && (r.coa !== msg.coa || msg.version < r.version)) return false; // stale: the VIF is elsewhere by now
      if (r) this.routes.forget(msg.vnet, msg.mac);
      this.link.relayOut(this.rewrite(msg, 0), from.address, 'varp');
      return false;
    }
    // An answer: to a far REQUEST we re-asked here, or to our own resolution.
    const p = this.pending.get(msg.nonce);
    if (!p || p.kind === 'out' || !answers(p, msg)) return false;
    const port = from.address === msg.coa ? from.port : this.link.settings().port;
    this.routes.learn(msg, { address: msg.coa, port }, false);
    this.complete(p, msg);
    return true;
  }

  // --- an answer sent to us by a peer vnetd (unicast); true when consumed ---

  onPeerVarp(msg: VarpMessage, from: Endpoint): boolean {
    if (msg.opcode !== VARP_ANNOUNCE || msg.flags & VARP_FLAG_GRATUITOUS) return false;
    const p = this.pending.get(msg.nonce);
    if (!p || p.kind === 'in' || !answers(p, msg)) return false; // perhaps our engine's own REQUEST
    this.routes.learn(msg, { address: msg.coa, port: from.address === msg.coa ? from.port : this.link.settings().port }, true);
    this.complete(p, msg);
    return true;
  }

  // --- the inner VARP message of a RELAY from peer `via` ---

  onFarVarp(msg: VarpMessage, inner: Buffer, origin: number, via: Endpoint): void {
    const { io, counters } = this.link;
    if (msg.opcode === VARP_REQUEST) {
      const local = msg.mac === 0 ? io.localByIp(msg.vnet, msg.ip) : io.local(msg.vnet, msg.mac);
      if (local) {
        const route: ProxyRoute = { vnet: msg.vnet, mac: local.mac, coa: 0, port: 0, ip: local.ip, version: local.version, far: false, since: now(), refreshing: false };
        this.send(this.announce(msg.vnet, local.mac, route, msg.nonce, 0), via);
        counters.inc(C.proxyAnswers('far'));
        return;
      }
      const r = this.routes.lookup(msg.vnet, msg.mac, msg.ip);
      if (r && this.routes.fresh(r.route)) {
        if (r.route.far) return void counters.inc(C.proxyIgnored('request_for_other_segment'));
        this.send(this.announce(msg.vnet, r.mac, r.route, msg.nonce, VARP_FLAG_PROXY), via);
        counters.inc(C.proxyAnswers('far'));
        return;
      }
      // Ask our LAN under our own nonce and COA: the answer must come to us, not to a host it cannot reach.
      const p = this.pending.track({ kind: 'in', nonce: this.pending.newNonce(), vnet: msg.vnet, mac: msg.mac, ip: msg.mac === 0 ? msg.ip : null, reply: via, origNonce: msg.nonce });
      if (p) this.pending.first(p, false);
      return;
    }
    const exclude = [origin, via.address];
    if (msg.opcode === VARP_ANNOUNCE) {
      if (!(msg.flags & VARP_FLAG_GRATUITOUS)) return void counters.inc(C.proxyIgnored('relayed_answer'));
      // With a key only a hint: hosts here ask us, and we ask the peer, under fresh nonces.
      if (this.link.settings().key ? this.routes.older(msg) : !this.routes.learn(msg, { address: msg.coa, port: via.address === msg.coa ? via.port : this.link.settings().port }, true)) return;
      io.handleVarp(msg, via); // this host's own VIFs reach it through the peer
      this.link.floodLan(this.rewrite(msg, msg.nonce), exclude);
      counters.inc(C.reflooded('varp'));
      return;
    }
    // WITHDRAW
    const r = this.routes.get(msg.vnet, msg.mac);
    if (r && (r.coa !== msg.coa || msg.version < r.version)) return void counters.inc(C.proxyIgnored('stale_withdraw'));
    if (r) this.routes.forget(msg.vnet, msg.mac);
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
    if (r && this.routes.fresh(r)) {
      if (r.coa === from.address) {
        counters.inc(C.proxyDropped('loop'));
        return true;
      }
      io.sendTo(buf, r.coa, r.port);
      counters.inc(C.proxyForwarded(r.far ? 'far' : 'lan'));
      const s = this.link.settings();
      if (!r.refreshing && now() - r.since > s.lifetimeMs - Math.min(3000, s.lifetimeMs / 4)) {
        r.refreshing = true;
        this.pending.resolve(vnet, dst);
      }
      return true;
    }
    const p = this.pending.resolve(vnet, dst);
    if (!p || p.queue.length >= this.link.settings().queueLimit) counters.inc(C.proxyDropped(p ? 'queue_overflow' : 'too_many_pending'));
    else {
      // A copy: `buf` is a view into the underlay's receive batch, which the queue must not keep alive.
      p.queue.push(Buffer.from(buf));
      counters.inc(C.proxyQueued);
    }
    return true;
  }

  routeViews(): ProxyRouteView[] {
    return this.routes.views();
  }

  // --- internals ---

  /** One unicast REQUEST to `at` under a fresh nonce (or the resolution's under way): its signed answer is learnt. */
  private verify(vnet: number, mac: number, at: Endpoint): void {
    if (!this.link.io.carries(vnet)) return;
    let p = this.pending.resolving(vnet, mac);
    if (!p) {
      p = this.pending.track({ kind: 'self', nonce: this.pending.newNonce(), vnet, mac, ip: null, reply: null, origNonce: 0 }) ?? undefined;
      if (!p) return;
      p.sent = this.link.settings().requestCount; // asked once, here: no flooded retries
    }
    this.link.io.sendTo(proxyRequest(this.link.settings(), vnet, mac, null, p.nonce), at.address, at.port);
    this.link.counters.inc(C.proxyRequests);
  }

  /** A pending request answered: pass the answer on, or release the frames waiting for it. */
  private complete(p: Pending, msg: VarpMessage): void {
    this.pending.untrack(p);
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
    this.pending.sweep(t, (p, reason) => {
      this.drop(p.queue.length, reason);
      const r = reason === 'unresolved' ? this.routes.get(p.vnet, p.mac) : undefined;
      if (r) r.refreshing = false;
    });
    this.routes.sweep(t);
  }

  private drop(n: number, reason: string): void {
    if (n > 0) this.link.counters.inc(C.proxyDropped(reason), n);
  }

  private announce(vnet: number, mac: number, r: ProxyRoute, nonce: number, flags: number): Buffer {
    return proxyAnnounce(this.link.settings(), vnet, mac, r, nonce, flags);
  }

  private rewrite(msg: VarpMessage, nonce: number): Buffer {
    this.link.counters.inc(C.proxyRewritten);
    return proxyRewrite(this.link.settings(), msg, nonce);
  }

  private send(buf: Buffer, to: Endpoint): void {
    this.link.io.sendTo(buf, to.address, to.port);
  }
}

