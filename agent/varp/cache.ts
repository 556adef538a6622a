// The VARP cache (spec "VARP", seed 002): entries keyed by (vnet, MAC) with a
// (vnet, IP) index, the INCOMPLETE -> REACHABLE | FAILED state machine, its
// REQUEST retries and the per-entry FIFO of datagrams waiting for a route.
// Timers are owned here and unref()ed; expiry of REACHABLE entries is checked
// on use (no timer per entry on the packet path) and a sweep frees memory.
//
// The number of entries is bounded per vnet and per host (VarpConfig
// maxEntriesPerVnet, maxEntries): an entry nobody asked for (a GRATUITOUS
// ANNOUNCE, a sealed frame) is not made when the bound is reached, and one a
// guest needs takes the place of the oldest settled entry of the fullest vnet.
// Either way a counter tells.
import { isGroupMac, isValidIp, isValidMac } from '../wire/addr.ts';
import { VARP_FLAG_HAS_IP, VARP_FLAG_PROXY, VNET_MAX, VNET_PHYSICAL } from '../wire/constants.ts';
import type { VarpMessage } from '../wire/varp.ts';
import type { Counters } from '../metrics.ts';
import { VARP_COUNTERS as C, frameDropped, type FrameDropReason } from './counters.ts';
import type { Sender } from './sender.ts';
import type { Route, VarpConfig, VarpEntryView, VarpState } from './types.ts';
import { VnetMap } from './vnet-map.ts';
import { VnetBudget } from './budget.ts';
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
  /** Resolutions in progress, datagrams held and REQUESTs flooded, per vnet. */
  readonly budget: VnetBudget<Entry | IpResolution>;

  constructor(
    private readonly cfg: VarpConfig,
    private readonly counters: Counters,
    private readonly sender: Sender,
  ) {
    this.budget = new VnetBudget(cfg, now);
  }

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
      const refused = this.admit(vnet);
      if (refused !== null) {
        this.remove(e);
        return this.drop(refused);
      }
      return this.enqueueAndResolve(e, datagram);
    }
    if (e === undefined) {
      if (!isVirtualVnet(vnet) || !isValidMac(mac) || mac === 0) return this.drop('bad_destination');
      if (isGroupMac(mac)) return this.drop('group_mac');
      const refused = this.admit(vnet);
      if (refused !== null) return this.drop(refused);
      const created = this.create(vnet, mac, true);
      return created ? this.enqueueAndResolve(created, datagram) : this.drop('cache_full');
    }
    if (e.state === 'FAILED') return this.drop('failed');
    return this.enqueue(e, datagram);
  }

  private enqueue(e: Entry, datagram: Buffer): null {
    if (e.queue.length >= this.cfg.queueLimit) return this.drop('queue_overflow');
    const refused = this.budget.refuseQueued(e.vnet);
    if (refused !== null) return this.drop(refused);
    // A copy: the datagram may be a view into a batch buffer (a TAP read or a
    // received batch, up to 64 KiB) that the queue must not keep alive.
    e.queue.push(Buffer.from(datagram));
    this.budget.queuedChanged(e.vnet, 1);
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
    if (this.admit(vnet) !== null) return;
    const r: IpResolution = { type: 'ip', vnet, ip, nonce: this.newNonce(), sent: 0, failed: false, timer: null };
    this.addNonce(r);
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
    for (const e of this.entries.values()) if (this.live(e, t)) out.push(view(e, t));
    return out;
  }

  /**
   * Up to `limit` live entries ordered by (vnet, MAC), starting after `after`,
   * with the number of live entries in all: a listing that cannot grow with the cache.
   */
  page(limit: number, after?: { vnet: number; mac: number }): { entries: VarpEntryView[]; total: number; more: boolean } {
    const t = now();
    let total = 0;
    const picked: Entry[] = [];
    for (const e of this.entries.values()) {
      if (!this.live(e, t)) continue;
      total++;
      if (after && (e.vnet < after.vnet || (e.vnet === after.vnet && e.mac <= after.mac))) continue;
      picked.push(e);
    }
    picked.sort((a, b) => a.vnet - b.vnet || a.mac - b.mac);
    return { entries: picked.slice(0, limit).map((e) => view(e, t)), total, more: picked.length > limit };
  }

  /** Live entries by state, for the gauges. */
  stateCounts(): Record<VarpState, number> {
    const t = now();
    const out: Record<VarpState, number> = { INCOMPLETE: 0, REACHABLE: 0, FAILED: 0 };
    for (const e of this.entries.values()) if (this.live(e, t)) out[e.state]++;
    return out;
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  private live(e: Entry, t: number): boolean {
    return e.state !== 'REACHABLE' || t - e.since < this.cfg.lifetimeMs;
  }

  /**
   * A new entry (no resolution under way); undefined when the bounds leave no
   * room. `demand`: a guest's frame or an answer to our own REQUEST needs it,
   * and it may take the place of the oldest settled entry; otherwise nothing
   * is made when full.
   */
  create(vnet: number, mac: number, demand = false): Entry | undefined {
    if (!this.room(vnet, demand)) return undefined;
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
    this.sender.io.changed?.();
    if (e.queue.length > 0) {
      const frames = e.queue;
      e.queue = [];
      this.budget.queuedChanged(e.vnet, -frames.length);
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
    this.sender.io.changed?.();
  }

  /** Frees REACHABLE entries past their lifetime (expiry itself is checked on every use). */
  sweep(): void {
    this.budget.sweep();
    const t = now();
    const expired: Entry[] = [];
    for (const e of this.entries.values()) if (!this.live(e, t)) expired.push(e);
    for (const e of expired) this.remove(e);
    if (expired.length > 0) this.counters.inc(C.entriesExpired, expired.length);
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
    this.budget.clear();
  }

  // --- resolution timers ---

  private startResolution(e: Entry): void {
    this.clearNonce(e);
    e.state = 'INCOMPLETE';
    e.since = now();
    e.sent = 0;
    e.nonce = this.newNonce();
    this.addNonce(e);
    this.sendRequest(e);
  }

  private sendRequest(e: Entry): void {
    e.sent++;
    // The timer is armed before sending, so an answer delivered during the send can cancel it.
    e.timer = setTimeout(this.guarded('request timer', () => this.onRequestTimer(e)), this.cfg.requestIntervalMs);
    e.timer.unref();
    this.floodRequest(e.vnet, e.sent > 1, () => this.sender.request(e.vnet, e.mac, 0, e.nonce));
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
    e.timer = setTimeout(
      this.guarded('failed hold timer', () => {
        e.timer = null;
        if (e.state === 'FAILED') this.remove(e);
      }),
      this.cfg.failedHoldMs,
    );
    e.timer.unref();
  }

  private sendIpRequest(r: IpResolution): void {
    r.sent++;
    r.timer = setTimeout(this.guarded('IP request timer', () => {
      r.timer = null;
      if (r.sent < this.cfg.requestCount) return this.sendIpRequest(r);
      // Held like a FAILED entry, so a guest repeating its ARP request does not restart it at once.
      this.deleteNonce(r);
      r.failed = true;
      this.counters.inc(C.ipResolutionsFailed);
      r.timer = setTimeout(this.guarded('IP failed hold timer', () => this.endIpResolution(r)), this.cfg.failedHoldMs);
      r.timer.unref();
    }), this.cfg.requestIntervalMs);
    r.timer.unref();
    this.floodRequest(r.vnet, r.sent > 1, () => this.sender.request(r.vnet, 0, r.ip, r.nonce));
  }

  private endIpResolution(r: IpResolution): void {
    if (r.timer) clearTimeout(r.timer);
    r.timer = null;
    this.deleteNonce(r);
    if (this.ipResolutions.get(r.vnet, r.ip) === r) this.ipResolutions.delete(r.vnet, r.ip);
  }

  /**
   * Asks `coa` whether (vnet, MAC) is there, under the entry's outstanding
   * nonce or a fresh one: the answer confirms the entry like any other.
   */
  verify(e: Entry, coa: number, port: number): void {
    if (e.nonce < 0) {
      if (this.nonces.size >= this.cfg.maxResolving) return void this.counters.inc(C.verificationsSkipped);
      e.nonce = this.newNonce();
      this.nonces.set(e.nonce, e);
    }
    this.sender.sendTo(this.sender.request(e.vnet, e.mac, 0, e.nonce), coa, port, C.verifyRequestsSent);
  }

  private sendRefresh(e: Entry): void {
    e.refreshedFor = e.since;
    if (this.budget.refuseResolution(e.vnet) !== null) return;
    this.clearNonce(e);
    e.nonce = this.newNonce();
    this.addNonce(e);
    this.sender.sendTo(this.sender.request(e.vnet, e.mac, 0, e.nonce), e.coa, e.port, C.refreshRequestsSent);
  }

  /** A timer callback that never throws: an error is a bug, counted and reported, and the engine carries on. */
  guarded(where: string, fn: () => void): () => void {
    return () => {
      try {
        fn();
      } catch (err) {
        this.counters.inc(C.timerErrors);
        this.sender.io.reportBug?.(`VARP ${where}`, err);
      }
    };
  }

  // --- bookkeeping ---

  /** Whether a new entry fits on `vnet`, making room for one in `demand` by evicting the oldest settled entry. */
  private room(vnet: number, demand: boolean): boolean {
    const vnetFull = this.entries.sizeOf(vnet) >= this.cfg.maxEntriesPerVnet;
    if (!vnetFull && this.entries.size < this.cfg.maxEntries) return true;
    const scope = vnetFull ? 'vnet' : 'host';
    if (demand) {
      const from = vnetFull ? vnet : this.entries.largestVnet();
      for (const e of from === undefined ? [] : this.entries.valuesOf(from)) {
        if (e.state === 'INCOMPLETE') continue;
        this.remove(e);
        this.counters.inc(C.entriesEvicted(scope));
        return true;
      }
    }
    this.counters.inc(C.entriesRefused(scope));
    return false;
  }

  private setIp(e: Entry, ip: number | null): void {
    if (e.ip !== null && e.ip !== ip && this.ipIndex.get(e.vnet, e.ip) === e.mac) this.ipIndex.delete(e.vnet, e.ip);
    e.ip = ip;
    if (ip === null) return;
    this.ipIndex.set(e.vnet, ip, e.mac);
    const r = this.ipResolutions.get(e.vnet, ip);
    if (r) this.endIpResolution(r);
  }

  private clearNonce(e: Entry): void {
    this.deleteNonce(e);
    e.nonce = -1;
  }

  /** Every outstanding nonce counts against its vnet's budget while it is in `nonces`. */
  private addNonce(owner: Entry | IpResolution): void {
    this.nonces.set(owner.nonce, owner);
    this.budget.added(owner);
  }

  private deleteNonce(owner: Entry | IpResolution): void {
    if (owner.nonce < 0 || this.nonces.get(owner.nonce) !== owner) return;
    this.nonces.delete(owner.nonce);
    this.budget.removed(owner);
  }

  /**
   * null when `vnet` may start a resolution, after making room: at its limit
   * (or on a full host) it ends its own oldest; on a full host while below an
   * even share, the oldest of the vnet holding the most.
   */
  private admit(vnet: number): FrameDropReason | null {
    const refused = this.budget.refuseResolution(vnet);
    if (refused === null) return null;
    const victim = (refused === 'too_many_resolving' ? this.budget.victim(vnet) : undefined) ?? this.budget.oldest(vnet);
    if (victim === undefined) return refused;
    this.counters.inc(C.resolutionsPreempted);
    if (victim.type === 'ip') this.endIpResolution(victim);
    else if (victim.state === 'INCOMPLETE') this.remove(victim, 'preempted');
    else this.clearNonce(victim); // a refresh: the entry stays until it expires
    return this.budget.refuseResolution(vnet);
  }

  /** A REQUEST flooded on the vnet's behalf, or counted as suppressed when its bucket is empty. */
  private floodRequest(vnet: number, retry: boolean, build: () => Buffer): void {
    if (!this.budget.takeRequest(vnet, retry)) return void this.counters.inc(C.requestsSuppressed);
    this.sender.flood(build(), C.requestsSent);
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
    this.budget.queuedChanged(e.vnet, -e.queue.length);
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
