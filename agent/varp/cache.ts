// The VARP cache (spec "VARP", seed 002): entries keyed by (vnet, MAC) with a
// (vnet, IP) index, the INCOMPLETE -> REACHABLE | FAILED state machine, its
// REQUEST retries and the per-entry FIFO of datagrams waiting for a route.
// Timers are owned here and unref()ed; expiry of REACHABLE entries is checked
// on use (no timer per entry on the packet path) and a sweep frees memory.
import { isGroupMac, isValidIp, isValidMac } from '../wire/addr.ts';
import { VARP_FLAG_HAS_IP, VARP_FLAG_PROXY, VNET_MAX, VNET_PHYSICAL } from '../wire/constants.ts';
import type { VarpMessage } from '../wire/varp.ts';
import type { Counters } from '../metrics.ts';
import { VARP_COUNTERS as C, frameDropped, type FrameDropReason } from './counters.ts';
import type { Sender } from './sender.ts';
import type { Route, VarpConfig, VarpEntryView, VarpState } from './types.ts';
import { VnetMap } from './vnet-map.ts';
import { randomInt } from 'node:crypto';

export interface Entry {
  readonly type: 'mac';
  readonly vnet: number;
  readonly mac: number;
  ip: number | null;
  state: VarpState;
  coa: number;
  port: number;
  /** Handed to callers of resolve(); replaced (never mutated) when the location changes. */
  route: Route;
  /** -1 while no ANNOUNCE was ever accepted for it. */
  version: number;
  proxy: boolean;
  /** REACHABLE: last confirmation; INCOMPLETE: resolution start; FAILED: when it failed. */
  since: number;
  /** Outstanding REQUEST nonce (resolution or refresh), -1 for none. */
  nonce: number;
  /** REQUESTs sent in the current resolution. */
  sent: number;
  /** The `since` a refresh REQUEST was sent for: one refresh per confirmation. */
  refreshedFor: number;
  timer: NodeJS.Timeout | null;
  queue: Buffer[];
}

/** A resolution by (vnet, IP) with no MAC known yet (ARP suppression warm-up). */
export interface IpResolution {
  readonly type: 'ip';
  readonly vnet: number;
  readonly ip: number;
  nonce: number;
  sent: number;
  failed: boolean;
  timer: NodeJS.Timeout | null;
}

export const now = (): number => performance.now();

export function isVirtualVnet(vnet: number): boolean {
  return Number.isInteger(vnet) && vnet > VNET_PHYSICAL && vnet <= VNET_MAX;
}

export class VarpCache {
  private readonly entries = new VnetMap<Entry>();
  private readonly ipIndex = new VnetMap<number>(); // (vnet, IP) -> MAC of an entry
  private readonly ipResolutions = new VnetMap<IpResolution>();
  private readonly nonces = new Map<number, Entry | IpResolution>();

  constructor(
    private readonly cfg: VarpConfig,
    private readonly counters: Counters,
    private readonly sender: Sender,
  ) {}

  get(vnet: number, mac: number): Entry | undefined {
    return this.entries.get(vnet, mac);
  }

  /** The resolution (or refresh) a reply's nonce answers, if any. */
  pending(nonce: number): Entry | IpResolution | undefined {
    return this.nonces.get(nonce);
  }

  resolve(vnet: number, mac: number, datagram: Buffer): Route | null {
    const e = this.entries.get(vnet, mac);
    if (e !== undefined && e.state === 'REACHABLE') {
      const age = now() - e.since;
      if (age < this.cfg.lifetimeMs) {
        if (age >= this.cfg.lifetimeMs - this.cfg.refreshAheadMs && e.refreshedFor !== e.since) this.sendRefresh(e);
        return e.route;
      }
      // Spec: expired "and is resolved again on the next frame".
      this.counters.inc(C.entriesExpired);
      if (this.nonces.size >= this.cfg.maxResolving) {
        this.remove(e);
        return this.drop('too_many_resolving');
      }
      return this.enqueueAndResolve(e, datagram);
    }
    if (e === undefined) {
      if (!isVirtualVnet(vnet) || !isValidMac(mac) || mac === 0) return this.drop('bad_destination');
      if (isGroupMac(mac)) return this.drop('group_mac');
      if (this.nonces.size >= this.cfg.maxResolving) return this.drop('too_many_resolving');
      return this.enqueueAndResolve(this.create(vnet, mac), datagram);
    }
    if (e.state === 'FAILED') return this.drop('failed');
    return this.enqueue(e, datagram);
  }

  private enqueue(e: Entry, datagram: Buffer): null {
    if (e.queue.length >= this.cfg.queueLimit) return this.drop('queue_overflow');
    // A copy: the datagram may be a view into a batch buffer (a TAP read or a
    // received batch, up to 64 KiB) that the queue must not keep alive.
    e.queue.push(Buffer.from(datagram));
    this.counters.inc(C.framesQueued);
    return null;
  }

  /** Queued before the first REQUEST goes out: an answer may arrive before the send returns. */
  private enqueueAndResolve(e: Entry, datagram: Buffer): null {
    e.state = 'INCOMPLETE';
    this.enqueue(e, datagram);
    this.startResolution(e);
    return null;
  }

  resolveIp(vnet: number, ip: number): void {
    if (!isVirtualVnet(vnet) || !isValidIp(ip)) return;
    if (this.lookupIp(vnet, ip) || this.ipResolutions.get(vnet, ip)) return;
    if (this.nonces.size >= this.cfg.maxResolving) return;
    const r: IpResolution = { type: 'ip', vnet, ip, nonce: this.newNonce(), sent: 0, failed: false, timer: null };
    this.nonces.set(r.nonce, r);
    this.ipResolutions.set(vnet, ip, r);
    this.sendIpRequest(r);
  }

  lookupIp(vnet: number, ip: number): VarpEntryView | undefined {
    const mac = this.ipIndex.get(vnet, ip);
    if (mac === undefined) return undefined;
    const e = this.entries.get(vnet, mac);
    if (!e || e.state !== 'REACHABLE' || e.ip !== ip) return undefined;
    const t = now();
    return t - e.since < this.cfg.lifetimeMs ? view(e, t) : undefined;
  }

  refresh(vnet: number, mac: number, coa: number): void {
    const e = this.entries.get(vnet, mac);
    if (e === undefined || e.state !== 'REACHABLE' || e.coa !== coa) return;
    const t = now();
    if (t - e.since < this.cfg.lifetimeMs) e.since = t;
  }

  views(): VarpEntryView[] {
    const t = now();
    const out: VarpEntryView[] = [];
    for (const e of this.entries.values()) {
      if (e.state === 'REACHABLE' && t - e.since >= this.cfg.lifetimeMs) continue;
      out.push(view(e, t));
    }
    return out;
  }

  /** A new entry learned from an ANNOUNCE (no resolution under way). */
  create(vnet: number, mac: number): Entry {
    const e: Entry = {
      type: 'mac',
      vnet,
      mac,
      ip: null,
      state: 'INCOMPLETE',
      coa: 0,
      port: 0,
      route: { coa: 0, port: 0 },
      version: -1,
      proxy: false,
      since: now(),
      nonce: -1,
      sent: 0,
      refreshedFor: -1,
      timer: null,
      queue: [],
    };
    this.entries.set(vnet, mac, e);
    return e;
  }

  /** An accepted ANNOUNCE: the entry is REACHABLE at the announced COA and its queue is released. */
  confirm(e: Entry, msg: VarpMessage, from: { address: number; port: number }): void {
    // Both ends use the same port (spec); the UDP source tells it exactly when
    // the message came straight from the COA rather than through a relay.
    const port = from.address === msg.coa ? from.port : this.sender.io.port;
    const wasResolving = e.state !== 'REACHABLE';
    if (!wasResolving && (e.coa !== msg.coa || e.port !== port)) this.counters.inc(C.entriesMoved);
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    this.clearNonce(e);
    if (wasResolving || e.coa !== msg.coa || e.port !== port) e.route = { coa: msg.coa, port };
    e.state = 'REACHABLE';
    e.coa = msg.coa;
    e.port = port;
    e.version = msg.version;
    e.proxy = (msg.flags & VARP_FLAG_PROXY) !== 0;
    e.since = now();
    this.setIp(e, msg.flags & VARP_FLAG_HAS_IP ? msg.ip : null);
    if (wasResolving) this.counters.inc(C.resolved);
    if (e.queue.length > 0) {
      const frames = e.queue;
      e.queue = [];
      this.sender.transmit(e.vnet, e.coa, e.port, frames);
    }
  }

  /** Forgets an entry; its queued datagrams, if any, are dropped as `reason`. */
  remove(e: Entry, reason: FrameDropReason = 'stopped'): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    this.dropQueue(e, reason);
    this.clearNonce(e);
    this.setIp(e, null);
    if (this.entries.get(e.vnet, e.mac) === e) this.entries.delete(e.vnet, e.mac);
  }

  /** Frees REACHABLE entries past their lifetime (expiry itself is checked on every use). */
  sweep(): void {
    const t = now();
    for (const e of this.entries.values()) {
      if (e.state === 'REACHABLE' && t - e.since >= this.cfg.lifetimeMs) {
        this.remove(e);
        this.counters.inc(C.entriesExpired);
      }
    }
  }

  /** Clears every timer and queue (queued datagrams counted as dropped, reason `stopped`). */
  clear(): void {
    for (const e of this.entries.values()) {
      if (e.timer) clearTimeout(e.timer);
      this.dropQueue(e, 'stopped');
    }
    for (const r of this.ipResolutions.values()) if (r.timer) clearTimeout(r.timer);
    this.entries.clear();
    this.ipIndex.clear();
    this.ipResolutions.clear();
    this.nonces.clear();
  }

  // --- resolution timers ---

  private startResolution(e: Entry): void {
    this.clearNonce(e);
    e.state = 'INCOMPLETE';
    e.since = now();
    e.sent = 0;
    e.nonce = this.newNonce();
    this.nonces.set(e.nonce, e);
    this.sendRequest(e);
  }

  private sendRequest(e: Entry): void {
    e.sent++;
    // The timer is armed before sending, so an answer delivered during the send can cancel it.
    e.timer = setTimeout(() => this.onRequestTimer(e), this.cfg.requestIntervalMs);
    e.timer.unref();
    this.sender.flood(this.sender.request(e.vnet, e.mac, 0, e.nonce), C.requestsSent);
  }

  private onRequestTimer(e: Entry): void {
    e.timer = null;
    if (e.state !== 'INCOMPLETE') return;
    if (e.sent < this.cfg.requestCount) return this.sendRequest(e);
    // Spec: FAILED one interval after the last unanswered REQUEST, its queue discarded.
    e.state = 'FAILED';
    e.since = now();
    this.clearNonce(e);
    this.dropQueue(e, 'queue_discarded');
    this.counters.inc(C.resolutionsFailed);
    e.timer = setTimeout(() => {
      e.timer = null;
      if (e.state === 'FAILED') this.remove(e);
    }, this.cfg.failedHoldMs);
    e.timer.unref();
  }

  private sendIpRequest(r: IpResolution): void {
    r.sent++;
    r.timer = setTimeout(() => {
      r.timer = null;
      if (r.sent < this.cfg.requestCount) return this.sendIpRequest(r);
      // Held like a FAILED entry, so a guest repeating its ARP request does not restart it at once.
      this.nonces.delete(r.nonce);
      r.failed = true;
      this.counters.inc(C.ipResolutionsFailed);
      r.timer = setTimeout(() => this.endIpResolution(r), this.cfg.failedHoldMs);
      r.timer.unref();
    }, this.cfg.requestIntervalMs);
    r.timer.unref();
    this.sender.flood(this.sender.request(r.vnet, 0, r.ip, r.nonce), C.requestsSent);
  }

  private endIpResolution(r: IpResolution): void {
    if (r.timer) clearTimeout(r.timer);
    r.timer = null;
    if (this.nonces.get(r.nonce) === r) this.nonces.delete(r.nonce);
    if (this.ipResolutions.get(r.vnet, r.ip) === r) this.ipResolutions.delete(r.vnet, r.ip);
  }

  private sendRefresh(e: Entry): void {
    e.refreshedFor = e.since;
    if (this.nonces.size >= this.cfg.maxResolving) return;
    this.clearNonce(e);
    e.nonce = this.newNonce();
    this.nonces.set(e.nonce, e);
    this.sender.sendTo(this.sender.request(e.vnet, e.mac, 0, e.nonce), e.coa, e.port, C.refreshRequestsSent);
  }

  // --- bookkeeping ---

  private setIp(e: Entry, ip: number | null): void {
    if (e.ip !== null && e.ip !== ip && this.ipIndex.get(e.vnet, e.ip) === e.mac) this.ipIndex.delete(e.vnet, e.ip);
    e.ip = ip;
    if (ip === null) return;
    this.ipIndex.set(e.vnet, ip, e.mac);
    const r = this.ipResolutions.get(e.vnet, ip);
    if (r) this.endIpResolution(r);
  }

  private clearNonce(e: Entry): void {
    if (e.nonce >= 0 && this.nonces.get(e.nonce) === e) this.nonces.delete(e.nonce);
    e.nonce = -1;
  }

  private newNonce(): number {
    for (;;) {
      const n = randomInt(0, 0x1_0000_0000);
      if (!this.nonces.has(n)) return n;
    }
  }

  private dropQueue(e: Entry, reason: FrameDropReason): void {
    if (e.queue.length === 0) return;
    this.counters.inc(frameDropped(reason), e.queue.length);
    e.queue = [];
  }

  private drop(reason: FrameDropReason): null {
    this.counters.inc(frameDropped(reason));
    return null;
  }
}

function view(e: Entry, t: number): VarpEntryView {
  return {
    vnet: e.vnet,
    mac: e.mac,
    ip: e.ip,
    coa: e.coa,
    port: e.port,
    state: e.state,
    version: Math.max(0, e.version),
    ageMs: Math.max(0, Math.round(t - e.since)),
    proxy: e.proxy,
  };
}
