// The vnetd relay role (spec "RELAY", seed 002 wide-area vnets): one agent
// per LAN segment joins the LAN's group (or is in its hosts' peers when the
// LAN replicates by unicast), and sends every flood it hears there — VARP
// REQUEST, GRATUITOUS ANNOUNCE, WITHDRAW, broadcast FRAME, and this host's own
// — to each peer vnetd as a RELAY (hops 4, origin COA). A RELAY from a peer is
// handled here and re-flooded on this LAN, never relayed onward, so a full
// mesh has no loops. Answers to relayed REQUESTs go from the answering host
// straight to the origin COA (the VARP engine does that); in proxy mode they
// come through the vnetds instead (proxy.ts).
//
// intercept() sees every underlay datagram as the dispatcher's first branch
// (agent/daemon/dispatch.ts), with the sender's address already parsed. It consumes
// RELAYs (and, in proxy mode, what the proxy answers or forwards), counting
// each as handled or dropped exactly once like the dispatcher does; anything
// else it may copy to the peers and leaves to the dispatcher. Like the
// dispatcher it never throws: a handler error (a bug) drops the datagram as
// `handler_error`, reported in the log, and reception goes on.
import {
  FRAME_MIN_LEN,
  KIND_FRAME,
  KIND_RELAY,
  KIND_VARP,
  RELAY_INITIAL_HOPS,
  VARP_ANNOUNCE,
  VARP_FLAG_GRATUITOUS,
  VARP_REQUEST,
  VARP_WITHDRAW,
  WireError,
  decodeFrame,
  decodeRelay,
  decodeVarp,
  encodeRelay,
  ipToString,
  isGroupMac,
  type VarpMessage,
} from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { dropName, HANDLER_ERROR, RX_HANDLED } from '../underlay/rx.ts';
import { BugReports } from '../bug-report.ts';
import { ProxyTable, type ProxyLink, type ProxyRouteView } from './proxy.ts';
import { RELAY_COUNTERS as C, type Endpoint, type RelayIo, type RelaySettings } from './types.ts';

const HANDLED_RELAY = `${RX_HANDLED}{kind="relay"}`;
const HANDLED_VARP = `${RX_HANDLED}{kind="varp"}`;
const HANDLED_PROXIED = `${RX_HANDLED}{kind="proxied_frame"}`;

export class Relay implements ProxyLink {
  private s: RelaySettings | null = null;
  private peerSet = new Set<number>();
  private proxy: ProxyTable | null = null;
  private readonly bugs: BugReports;

  constructor(
    readonly io: RelayIo,
    readonly counters: Counters,
    private readonly logger: Logger,
  ) {
    this.bugs = new BugReports(logger);
  }

  /** Enables (or changes) the role; null disables it. */
  configure(s: RelaySettings | null): void {
    const was = this.s;
    this.s = s;
    this.peerSet = new Set(s?.peers ?? []);
    if (s?.proxy && !this.proxy) this.proxy = new ProxyTable(this);
    if (!s?.proxy && this.proxy) {
      this.proxy.stop();
      this.proxy = null;
    }
    const summary = (x: RelaySettings | null) => (x ? JSON.stringify([x.peers, x.proxy, x.ownCoa]) : 'off');
    if (summary(was) !== summary(s)) {
      this.logger.info(s ? 'vnetd relay role on' : 'vnetd relay role off', s ? { peers: s.peers.map(ipToString), proxy: s.proxy } : {});
    }
  }

  get enabled(): boolean {
    return this.s !== null;
  }

  settings(): RelaySettings {
    return this.s!;
  }

  stop(): void {
    this.configure(null);
  }

  routes(): ProxyRouteView[] {
    return this.proxy?.routeViews() ?? [];
  }

  /** Every underlay datagram, before the dispatcher: true when the relay consumed (and counted) it. Never throws. */
  intercept(buf: Buffer, from: Endpoint): boolean {
    try {
      return this.take(buf, from);
    } catch (err) {
      // Nothing was counted for it yet: every path counts only once its work is done.
      this.drop(HANDLER_ERROR);
      this.reportBug('relay handler', err);
      return true;
    }
  }

  reportBug(where: string, err: unknown): void {
    this.bugs.report(where, err);
  }

  private take(buf: Buffer, src: Endpoint): boolean {
    const s = this.s;
    if (s === null || buf.length < 4) return false;
    if (src.port === s.port && src.address === s.ownCoa) return false; // our own multicast, looped back
    const kind = buf.readUInt16BE(0);
    if (kind === KIND_RELAY) {
      this.onRelay(buf, src);
      return true;
    }
    const fromPeer = this.peerSet.has(src.address);
    if (kind === KIND_VARP) {
      let msg: VarpMessage;
      try {
        msg = decodeVarp(buf, s.key);
      } catch {
        return false; // the dispatcher counts it
      }
      if (fromPeer) {
        if (this.proxy?.onPeerVarp(msg, src)) return this.handled(HANDLED_VARP);
        return false;
      }
      if (this.proxy) return this.proxy.onLanVarp(msg, buf, src) ? this.handled(HANDLED_VARP) : false;
      if (isFlood(msg) && !(msg.opcode === VARP_REQUEST && this.answeredHere(msg))) this.relayOut(buf, src.address, 'varp');
      return false;
    }
    if (kind === KIND_FRAME && buf.length >= FRAME_MIN_LEN) {
      if (this.proxy?.onFrame(buf, src)) return this.handled(HANDLED_PROXIED);
      if (fromPeer) return false;
      const dst = this.io.frameDestination(buf);
      // A frame whose destination cannot be read (sealed, no keys here) reached
      // a relay as a flood: relaying it is how its destination gets it.
      if (dst === null || isGroupMac(dst)) this.relayOut(buf, src.address, 'frame');
    }
    return false;
  }

  /** A flood this host itself sends on its LAN (VARP or a broadcast FRAME): the peers get it too. */
  fromSelf(buf: Buffer): void {
    const s = this.s;
    if (s === null || buf.length < 4) return;
    const kind = buf.readUInt16BE(0);
    if (kind === KIND_FRAME) return this.relayOut(buf, s.ownCoa, 'frame');
    if (kind === KIND_VARP) this.relayOut(buf, s.ownCoa, 'varp');
  }

  relayOut(inner: Buffer, origin: number, kind: 'varp' | 'frame'): void {
    const s = this.s;
    if (s === null || s.peers.length === 0) return;
    let relay: Buffer;
    try {
      relay = encodeRelay({ hops: RELAY_INITIAL_HOPS, origin, inner });
    } catch {
      return void this.counters.inc(C.proxyIgnored('unrelayable'));
    }
    for (const p of s.peers) {
      this.io.sendTo(relay, p, s.port);
      this.counters.inc(C.outDatagrams);
    }
    this.counters.inc(C.out(kind));
  }

  floodLan(buf: Buffer, exclude: readonly number[]): void {
    const s = this.s!;
    this.io.floodLan(buf, new Set([...exclude, ...s.peers, s.ownCoa]));
  }

  private onRelay(buf: Buffer, via: Endpoint): void {
    const s = this.s!;
    if (!this.peerSet.has(via.address)) return this.drop('relay_not_peer');
    let origin: number;
    let inner: Buffer;
    try {
      const r = decodeRelay(buf);
      if (r.hops === 0) return this.drop('relay_no_hops');
      origin = r.origin;
      inner = r.inner;
    } catch (err) {
      if (err instanceof WireError) return this.drop(`relay_${err.code.toLowerCase()}`);
      throw err; // a bug: intercept() counts it
    }
    const exclude = [origin, via.address];
    if (inner.readUInt16BE(0) === KIND_VARP) {
      let msg: VarpMessage;
      try {
        msg = decodeVarp(inner, s.key);
      } catch (err) {
        return this.drop(err instanceof WireError ? `relay_varp_${err.code.toLowerCase()}` : 'relay_varp_bad');
      }
      this.counters.inc(C.in('varp'));
      if (this.proxy) this.proxy.onFarVarp(msg, inner, origin, via);
      else {
        // Handled as if from the origin: an answer goes straight there.
        this.io.handleVarp(msg, { address: origin, port: s.port });
        this.floodLan(inner, exclude);
        this.counters.inc(C.reflooded('varp'));
      }
      this.handled(HANDLED_RELAY);
      return;
    }
    let frame;
    try {
      frame = decodeFrame(inner);
    } catch (err) {
      return this.drop(err instanceof WireError ? `relay_frame_${err.code.toLowerCase()}` : 'relay_frame_bad');
    }
    this.counters.inc(C.in('frame'));
    const reason = this.io.handleFrame(frame, origin, inner);
    if (reason !== null) this.counters.inc(C.localUndelivered(reason));
    this.floodLan(inner, exclude);
    this.counters.inc(C.reflooded('frame'));
    this.handled(HANDLED_RELAY);
  }

  /** A REQUEST this host answers itself (a VIF attached here): no peer needs it. */
  private answeredHere(msg: VarpMessage): boolean {
    return (msg.mac === 0 ? this.io.localByIp(msg.vnet, msg.ip) : this.io.local(msg.vnet, msg.mac)) !== undefined;
  }

  private handled(name: string): true {
    this.counters.inc(name);
    return true;
  }

  private drop(reason: string): void {
    this.counters.inc(dropName(reason));
  }

}

/** What a vnetd carries between segments (spec "RELAY": the multicast messages). */
function isFlood(msg: VarpMessage): boolean {
  return msg.opcode === VARP_REQUEST || msg.opcode === VARP_WITHDRAW || (msg.opcode === VARP_ANNOUNCE && (msg.flags & VARP_FLAG_GRATUITOUS) !== 0);
}
