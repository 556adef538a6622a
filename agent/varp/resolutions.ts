// The resolutions in progress of the VARP cache (spec "VARP"): one nonce per
// resolution (all its REQUESTs share it), the REQUEST schedule of an entry
// being resolved and of a resolution by IP, refresh and verification
// REQUESTs, and the per-vnet budgets of agent/varp/budget.ts that bound them.
// Timers are owned here and unref()ed; their work never throws (guarded).
import { isValidIp } from '../wire/addr.ts';
import type { Counters } from '../metrics.ts';
import { VARP_COUNTERS as C, type FrameDropReason } from './counters.ts';
import type { Sender } from './sender.ts';
import type { VarpConfig } from './types.ts';
import { VnetMap } from './vnet-map.ts';
import { VnetBudget } from './budget.ts';
import { isVirtualVnet, now, type Entry, type IpResolution } from './entry.ts';
import { randomInt } from 'node:crypto';

/** What the cache does when a resolution it owns ends without an answer. */
export interface ResolutionEnds {
  /** The last REQUEST of `e` went unanswered: it is FAILED now. */
  failed(e: Entry): void;
  /** `e` (INCOMPLETE) makes room for a newer resolution: it is forgotten. */
  preempted(e: Entry): void;
  /** True when (vnet, IP) is already known or being resolved by MAC. */
  knowsIp(vnet: number, ip: number): boolean;
}

export class Resolutions {
  private readonly nonces = new Map<number, Entry | IpResolution>();
  private readonly byIp = new VnetMap<IpResolution>();
  /** Resolutions in progress and REQUESTs flooded, per vnet. */
  readonly budget: VnetBudget<Entry | IpResolution>;

  constructor(
    private readonly cfg: VarpConfig,
    private readonly counters: Counters,
    private readonly sender: Sender,
    private readonly ends: ResolutionEnds,
  ) {
    this.budget = new VnetBudget(cfg, now);
  }

  /** The resolution (or refresh) a reply's nonce answers, if any. */
  pending(nonce: number): Entry | IpResolution | undefined {
    return this.nonces.get(nonce);
  }

  /** Starts resolving `e`: INCOMPLETE, a fresh nonce, the first REQUEST at once. */
  start(e: Entry): void {
    this.clearNonce(e);
    e.state = 'INCOMPLETE';
    e.since = now();
    e.sent = 0;
    e.nonce = this.newNonce();
    this.addNonce(e);
    this.sendRequest(e);
  }

  resolveIp(vnet: number, ip: number): void {
    if (!isVirtualVnet(vnet) || !isValidIp(ip)) return;
    if (this.ends.knowsIp(vnet, ip) || this.byIp.get(vnet, ip)) return;
    if (this.admit(vnet) !== null) return;
    const r: IpResolution = { type: 'ip', vnet, ip, nonce: this.newNonce(), sent: 0, failed: false, timer: null };
    this.addNonce(r);
    this.byIp.set(vnet, ip, r);
    this.sendIpRequest(r);
  }

  /** An entry learnt (vnet, IP): a resolution by that IP is over. */
  ipKnown(vnet: number, ip: number): void {
    const r = this.byIp.get(vnet, ip);
    if (r) this.endIpResolution(r);
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

  /** One unicast REQUEST to the COA of a REACHABLE entry in use shortly before it expires. */
  refresh(e: Entry): void {
    e.refreshedFor = e.since;
    if (this.budget.refuseResolution(e.vnet) !== null) return;
    this.clearNonce(e);
    e.nonce = this.newNonce();
    this.addNonce(e);
    this.sender.sendTo(this.sender.request(e.vnet, e.mac, 0, e.nonce), e.coa, e.port, C.refreshRequestsSent);
  }

  /**
   * null when `vnet` may start a resolution, after making room: at its limit
   * (or on a full host) it ends its own oldest; on a full host while below an
   * even share, the oldest of the vnet holding the most.
   */
  admit(vnet: number): FrameDropReason | null {
    const refused = this.budget.refuseResolution(vnet);
    if (refused === null) return null;
    const victim = (refused === 'too_many_resolving' ? this.budget.victim(vnet) : undefined) ?? this.budget.oldest(vnet);
    if (victim === undefined) return refused;
    this.counters.inc(C.resolutionsPreempted);
    if (victim.type === 'ip') this.endIpResolution(victim);
    else if (victim.state === 'INCOMPLETE') this.ends.preempted(victim);
    else this.clearNonce(victim); // a refresh: the entry stays until it expires
    return this.budget.refuseResolution(vnet);
  }

  clearNonce(e: Entry): void {
    this.deleteNonce(e);
    e.nonce = -1;
  }

  clear(): void {
    for (const r of this.byIp.values()) if (r.timer) clearTimeout(r.timer);
    this.byIp.clear();
    this.nonces.clear();
    this.budget.clear();
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
    this.clearNonce(e);
    this.ends.failed(e);
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
    if (this.byIp.get(r.vnet, r.ip) === r) this.byIp.delete(r.vnet, r.ip);
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
}
