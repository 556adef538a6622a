// The VARP cache (spec "VARP", seed 002): entries keyed by (vnet, MAC) with a
// (vnet, IP) index and the INCOMPLETE -> REACHABLE | FAILED state machine;
// the resolutions in progress (nonces, REQUEST timers, budgets) are in
// resolutions.ts. Frames waiting for a resolution are held by the switch
// (agent/switch/held.ts): the cache tells it when a destination resolved or
// when its resolution ended without a route (VarpIo.resolved/unresolved).
// Every confirmed, moved or forgotten entry is told (VarpIo.changed): the
// kernel fast path (agent/bpf/) mirrors the cache into its maps.
// Expiry of REACHABLE entries is checked on use (no timer per entry on the
// packet path) and a sweep frees memory.
//
// The number of entries is bounded per vnet and per host (VarpConfig
// maxEntriesPerVnet, maxEntries): an entry nobody asked for (a GRATUITOUS
// ANNOUNCE, a sealed frame) is not made when the bound is reached, and one a
// guest needs takes the place of the oldest settled entry of the fullest vnet.
// Either way a counter tells.
import { isGroupMac, isValidMac } from '../wire/addr.ts';
import { VARP_FLAG_HAS_IP, VARP_FLAG_PROXY } from '../wire/constants.ts';
import type { VarpMessage } from '../wire/varp.ts';
import type { Counters } from '../metrics.ts';
import { VARP_COUNTERS as C, frameDropped, type FrameDropReason, type HeldDropReason } from './counters.ts';
import type { Sender } from './sender.ts';
import type { Resolution, VarpConfig, VarpEntryView, VarpState } from './types.ts';
import { VnetMap } from './vnet-map.ts';
import { isVirtualVnet, newEntry, now, view, type Entry, type IpResolution } from './entry.ts';
import { Resolutions } from './resolutions.ts';

export class VarpCache {
  private readonly entries = new VnetMap<Entry>();
  private readonly ipIndex = new VnetMap<number>(); // (vnet, IP) -> MAC of an entry
  private readonly resolutions: Resolutions;

  constructor(
    private readonly cfg: VarpConfig,
    private readonly counters: Counters,
    private readonly sender: Sender,
  ) {
    this.resolutions = new Resolutions(cfg, counters, sender, {
      failed: (e) => this.fail(e),
      preempted: (e) => this.remove(e, 'preempted'),
      knowsIp: (vnet, ip) => this.lookupIp(vnet, ip) !== undefined,
    });
  }

  get(vnet: number, mac: number): Entry | undefined {
    return this.entries.get(vnet, mac);
  }

  /** The resolution (or refresh) a reply's nonce answers, if any. */
  pending(nonce: number): Entry | IpResolution | undefined {
    return this.resolutions.pending(nonce);
  }

  /** The route of (vnet, mac); 'pending' while it resolves (the caller holds the frame); null when dropped (counted). */
  resolve(vnet: number, mac: number): Resolution {
    const e = this.entries.get(vnet, mac);
    if (e !== undefined && e.state === 'REACHABLE') {
      const age = now() - e.since;
      if (age < this.cfg.lifetimeMs) {
        if (age >= this.cfg.lifetimeMs - this.cfg.refreshAheadMs && e.refreshedFor !== e.since) this.resolutions.refresh(e);
        return e.route;
      }
      // Spec: expired "and is resolved again on the next frame", as an entry
      // never confirmed: the location version it had expired with it
      // (docs/wire.md "VARP freshness": a forged version lasts until expiry).
      this.counters.inc(C.entriesExpired);
      e.version = -1;
      const refused = this.resolutions.admit(vnet);
      if (refused !== null) {
        this.remove(e);
        return this.drop(refused);
      }
      return this.startResolution(e);
    }
    if (e === undefined) {
      if (!isVirtualVnet(vnet) || !isValidMac(mac) || mac === 0) return this.drop('bad_destination');
      if (isGroupMac(mac)) return this.drop('group_mac');
      const refused = this.resolutions.admit(vnet);
      if (refused !== null) return this.drop(refused);
      const created = this.create(vnet, mac, true);
      return created ? this.startResolution(created) : this.drop('cache_full');
    }
    if (e.state === 'FAILED') return this.drop('failed');
    return 'pending';
  }

  /** The first REQUEST goes out; its answer may arrive before the send returns (a relay on this host, a test). */
  private startResolution(e: Entry): Resolution {
    this.resolutions.start(e);
    if (e.state === 'REACHABLE') return e.route;
    return this.entries.get(e.vnet, e.mac) === e && e.state === 'INCOMPLETE' ? 'pending' : this.drop('stopped');
  }

  resolveIp(vnet: number, ip: number): void {
    this.resolutions.resolveIp(vnet, ip);
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

  /** Asks `coa` whether (vnet, MAC) is there (a GRATUITOUS ANNOUNCE with a VARP key); the signed answer moves `e`. */
  verify(e: Entry, coa: number, port: number): void {
    this.resolutions.verify(e, coa, port);
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

  /** The location version an ANNOUNCE must not be below: none (-1) once the entry expired. */
  knownVersion(e: Entry): number {
    return this.live(e, now()) ? e.version : -1;
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
    const e = newEntry(vnet, mac);
    this.entries.set(vnet, mac, e);
    return e;
  }

  /** An accepted ANNOUNCE: the entry is REACHABLE at the announced COA, and the frames held for it go out. */
  confirm(e: Entry, msg: VarpMessage, from: { address: number; port: number }): void {
    // Both ends use the same port (spec); the UDP source tells it exactly when
    // the message came straight from the COA rather than through a relay.
    const port = from.address === msg.coa ? from.port : this.sender.io.port;
    const wasResolving = e.state !== 'REACHABLE';
    const held = e.state === 'INCOMPLETE';
    if (!wasResolving && (e.coa !== msg.coa || e.port !== port)) this.counters.inc(C.entriesMoved);
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    this.resolutions.clearNonce(e);
    if (wasResolving || e.coa !== msg.coa || e.port !== port) e.route = { coa: msg.coa, port };
    e.state = 'REACHABLE';
    e.coa = msg.coa;
    e.port = port;
    e.version = msg.version;
    e.proxy = (msg.flags & VARP_FLAG_PROXY) !== 0;
    e.since = now();
    this.setIp(e, msg.flags & VARP_FLAG_HAS_IP ? msg.ip : null);
    if (wasResolving) this.counters.inc(C.resolved);
    this.sender.changed();
    if (held) this.sender.resolved(e.vnet, e.mac, e.route);
  }

  /** Forgets an entry; frames held while it was resolving, if any, are dropped as `reason`. */
  remove(e: Entry, reason: HeldDropReason = 'stopped'): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    const held = e.state === 'INCOMPLETE';
    this.resolutions.clearNonce(e);
    this.setIp(e, null);
    if (this.entries.get(e.vnet, e.mac) === e) this.entries.delete(e.vnet, e.mac);
    this.sender.changed();
    if (held) this.sender.unresolved(e.vnet, e.mac, reason);
  }

  /** Frees REACHABLE entries past their lifetime (expiry itself is checked on every use). */
  sweep(): void {
    this.resolutions.budget.sweep();
    const t = now();
    const expired: Entry[] = [];
    for (const e of this.entries.values()) if (!this.live(e, t)) expired.push(e);
    for (const e of expired) this.remove(e);
    if (expired.length > 0) this.counters.inc(C.entriesExpired, expired.length);
  }

  /** Clears every timer and entry; frames held for resolutions under way are dropped (reason `stopped`). */
  clear(): void {
    const resolving: Entry[] = [];
    for (const e of this.entries.values()) {
      if (e.timer) clearTimeout(e.timer);
      if (e.state === 'INCOMPLETE') resolving.push(e);
    }
    this.entries.clear();
    this.ipIndex.clear();
    this.resolutions.clear();
    for (const e of resolving) this.sender.unresolved(e.vnet, e.mac, 'stopped');
  }

  /** A timer callback that never throws (see Resolutions.guarded). */
  guarded(where: string, fn: () => void): () => void {
    return this.resolutions.guarded(where, fn);
  }

  /** Spec: FAILED one interval after the last unanswered REQUEST, its held frames discarded; forgotten after the hold. */
  private fail(e: Entry): void {
    e.state = 'FAILED';
    e.since = now();
    this.counters.inc(C.resolutionsFailed);
    this.sender.unresolved(e.vnet, e.mac, 'queue_discarded');
    e.timer = setTimeout(
      this.guarded('failed hold timer', () => {
        e.timer = null;
        if (e.state === 'FAILED') this.remove(e);
      }),
      this.cfg.failedHoldMs,
    );
    e.timer.unref();
  }

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
    this.resolutions.ipKnown(e.vnet, ip);
  }

  private drop(reason: FrameDropReason): null {
    this.counters.inc(frameDropped(reason));
    return null;
  }
}
