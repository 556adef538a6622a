// The VARP engine (spec "VARP", seed 002): resolves (vnet, MAC) to the care-of
// address of the host where the VIF lives, answers for the VIFs attached here,
// and keeps caches right across migrations. Pure: no sockets (VarpIo is
// injected), its own unref()ed timers, a counter for every outcome.
// Over 300 lines: this is the dispatch of every VARP message against the
// local VIFs and the cache; what could be split out already is (cache.ts,
// resolutions.ts, moves.ts, sender.ts).
//
// Choices the spec leaves open:
// - A GRATUITOUS ANNOUNCE updates any entry we cache or are resolving, and
//   creates a REACHABLE entry only on a vnet that has a VIF on this host (the
//   only vnets this host ever sends on): attaching a VIF warms the caches that
//   matter without every host caching the whole deployment.
// - A WITHDRAW with a lower version than the cached entry is ignored, like an
//   ANNOUNCE: a late WITHDRAW from an earlier stay on the same COA must not
//   erase the current location.
// - One nonce per resolution (all its REQUESTs share it), so the answer to any
//   retry completes it; an ANNOUNCE with any other nonce is ignored unless GRATUITOUS.
// - Messages whose COA is ours, arriving from our own port, are our own
//   multicast looped back and are ignored.
// - With a VARP key, a GRATUITOUS ANNOUNCE is only a hint (wire.md "VARP
//   freshness"): its bytes may be a capture replayed long after the VIF left,
//   and nothing in them says when they were made. It moves nothing by itself:
//   a cached entry is verified by a unicast REQUEST with a fresh nonce to the
//   announced COA, and only the signed answer (which must carry that nonce)
//   moves it; an entry not cached is resolved on first use as usual.
// - A GRATUITOUS ANNOUNCE of a local VIF at another COA with a higher version lets it go
//   (no longer local, no WITHDRAW, io.moved tells the switch) only when the VIF is marked
//   outgoing (a live migration away is in progress); with a key only on the signed answer
//   to a REQUEST with a fresh nonce sent to that COA (moves.ts). Other local VIFs ignore it.
// - An ANNOUNCE goes to the REQUEST's UDP source. A REQUEST re-flooded by a
//   vnetd comes from the relay instead; it is answered at its COA only when
//   that COA is a host this agent admits (underlay admission), so a REQUEST
//   cannot aim an answer at a third party.
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, VARP_REQUEST, VARP_WITHDRAW } from '../wire/constants.ts';
import type { VarpMessage } from '../wire/varp.ts';
import type { Counters } from '../metrics.ts';
import { VarpCache } from './cache.ts';
import type { Entry } from './entry.ts';
import { VARP_COUNTERS as C, frameDropped, messageIgnored, type IgnoreReason } from './counters.ts';
import { LocalMoves } from './moves.ts';
import { Sender } from './sender.ts';
import { checkIo, checkLocalVif, varpConfig, type LocalVif, type Resolution, type VarpConfig, type VarpEntryView, type VarpIo, type VarpState } from './types.ts';
import { VnetMap } from './vnet-map.ts';

export interface Source {
  address: number;
  port: number;
}

export class Varp {
  private readonly cfg: VarpConfig;
  private readonly sender: Sender;
  private readonly cache: VarpCache;
  private readonly moves: LocalMoves;
  private readonly locals = new VnetMap<LocalVif>();
  private readonly localsByIp = new VnetMap<LocalVif>();
  private sweeper: NodeJS.Timeout | null = null;
  private running = false;

  /** Throws RangeError naming the field when `io` or `config` is invalid. */
  constructor(
    io: VarpIo,
    private readonly counters: Counters,
    config?: Partial<VarpConfig>,
  ) {
    checkIo(io);
    this.cfg = varpConfig(config);
    this.sender = new Sender(io, counters, this.cfg.key);
    this.cache = new VarpCache(this.cfg, counters, this.sender);
    this.moves = new LocalMoves(this.sender);
  }

  get config(): Readonly<VarpConfig> {
    return this.cfg;
  }

  /** Arms the sweep and announces the VIFs attached so far. Until then resolve() drops and handle() ignores. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.sweeper = setInterval(this.cache.guarded('sweep', () => this.cache.sweep()), Math.max(1000, this.cfg.lifetimeMs / 2));
    this.sweeper.unref();
    for (const vif of this.locals.values()) this.announce(vif.vnet, vif.mac);
  }

  /** Clears every timer, queue and cache entry; attached VIFs are kept (and announced again by start()). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.cache.clear();
    this.moves.clear();
  }

  /**
   * Where to send a unicast FRAME for (vnet, mac): the route when REACHABLE
   * (the caller sends); 'pending' while it resolves (the caller holds the
   * frame until io.resolved or io.unresolved tells what became of it); null
   * when the frame is dropped (counted).
   */
  resolve(vnet: number, mac: number): Resolution {
    if (!this.running) {
      this.counters.inc(frameDropped('stopped'));
      return null;
    }
    // Only on a cache miss is it worth checking that the caller did not mean a local VIF.
    if (this.cache.get(vnet, mac) === undefined && this.locals.get(vnet, mac)) {
      this.counters.inc(frameDropped('local_destination'));
      return null;
    }
    return this.cache.resolve(vnet, mac);
  }

  /** Starts a HAS_IP REQUEST for (vnet, ip) unless it is known, local or already under way (ARP suppression warm-up). */
  resolveIp(vnet: number, ip: number): void {
    if (!this.running || this.localsByIp.get(vnet, ip)) return;
    this.cache.resolveIp(vnet, ip);
  }

  /** An incoming VARP message, already decoded (and authenticated when a key is configured). */
  handle(msg: VarpMessage, from: Source): void {
    if (!this.running) return this.ignore('stopped');
    if (msg.coa === this.sender.io.ownCoa && from.port === this.sender.io.port) return this.ignore('own');
    if (msg.opcode === VARP_REQUEST) this.onRequest(msg, from);
    else if (msg.opcode === VARP_ANNOUNCE) this.onAnnounce(msg, from);
    else if (msg.opcode === VARP_WITHDRAW) this.onWithdraw(msg);
  }

  /** A VIF is attached here: answer REQUESTs for it and send a GRATUITOUS ANNOUNCE. Throws RangeError on a bad VIF. */
  attach(vif: LocalVif): void {
    checkLocalVif(vif);
    const prev = this.locals.get(vif.vnet, vif.mac);
    if (!vif.outgoing) this.moves.forget(vif.vnet, vif.mac);
    if (prev && prev.ip === vif.ip && prev.version === vif.version) return void (vif.outgoing ? (prev.outgoing = true) : delete prev.outgoing);
    if (prev) this.unindexLocal(prev);
    const copy: LocalVif = { vnet: vif.vnet, mac: vif.mac, ip: vif.ip, version: vif.version, ...(vif.outgoing ? { outgoing: true } : {}) };
    this.locals.set(copy.vnet, copy.mac, copy);
    if (copy.ip !== null) this.localsByIp.set(copy.vnet, copy.ip, copy);
    // It lives here now: a remote entry for it is stale, and frames queued for it cannot go out by the underlay.
    const cached = this.cache.get(copy.vnet, copy.mac);
    if (cached) this.cache.remove(cached, 'now_local');
    this.announce(copy.vnet, copy.mac);
  }

  /** A VIF left this host: forget it and send WITHDRAW with our COA. */
  detach(vnet: number, mac: number): void {
    const vif = this.locals.get(vnet, mac);
    if (!vif) return;
    this.letGo(vif);
    if (this.running) this.sender.flood(this.sender.forVif(VARP_WITHDRAW, vif, 0, 0), C.withdrawsSent);
  }

  /** Sends a GRATUITOUS ANNOUNCE for an attached VIF (again, e.g. after the underlay changed). */
  announce(vnet: number, mac: number): void {
    const vif = this.locals.get(vnet, mac);
    if (!vif || !this.running) return;
    this.sender.flood(this.sender.forVif(VARP_ANNOUNCE, vif, 0, VARP_FLAG_GRATUITOUS), C.gratuitousSent);
  }

  local(vnet: number, mac: number): LocalVif | undefined {
    return this.locals.get(vnet, mac);
  }

  localByIp(vnet: number, ip: number): LocalVif | undefined {
    return this.localsByIp.get(vnet, ip);
  }

  localVifs(): LocalVif[] {
    return [...this.locals.values()];
  }

  /** The REACHABLE remote entry for (vnet, IP), for ARP suppression. */
  lookupIp(vnet: number, ip: number): VarpEntryView | undefined {
    return this.cache.lookupIp(vnet, ip);
  }

  /** A FRAME received from `coa` confirms an existing REACHABLE entry pointing there; it never creates or moves one. */
  refresh(vnet: number, mac: number, coa: number): void {
    this.cache.refresh(vnet, mac, coa);
  }

  /**
   * A SEALED frame that authenticated came straight from `coa` with source
   * `mac` (spec "VARP": a FRAME never creates or moves an entry unless it was
   * SEALED). It creates an entry on a vnet with a VIF here, completes one
   * being resolved (releasing its queue) and refreshes one pointing there. It
   * never moves a REACHABLE entry that points elsewhere: a frame carries no
   * location version, and one still in flight from a VIF's old host must not
   * undo a migration.
   */
  learn(vnet: number, mac: number, coa: number): void {
    if (!this.running || mac === 0 || this.locals.get(vnet, mac)) return;
    let e = this.cache.get(vnet, mac);
    if (e?.state === 'REACHABLE') return this.cache.refresh(vnet, mac, coa);
    if (e === undefined) {
      if (!this.locals.hasVnet(vnet)) return;
      e = this.cache.create(vnet, mac);
      if (!e) return;
    }
    const ip = e.ip;
    const msg: VarpMessage = {
      opcode: VARP_ANNOUNCE,
      vnet,
      mac,
      flags: ip !== null ? VARP_FLAG_HAS_IP : 0,
      ip: ip ?? 0,
      coa,
      nonce: 0,
      version: Math.max(0, e.version),
    };
    this.counters.inc(C.learnedFromFrames);
    this.cache.confirm(e, msg, { address: coa, port: this.sender.io.port });
  }

  entries(): VarpEntryView[] {
    return this.cache.views();
  }

  /** A page of the cache ordered by (vnet, MAC), and the number of live entries (see VarpCache.page). */
  entryPage(limit: number, after?: { vnet: number; mac: number }): { entries: VarpEntryView[]; total: number; more: boolean } {
    return this.cache.page(limit, after);
  }

  /** Live cache entries by state. */
  entryCounts(): Record<VarpState, number> {
    return this.cache.stateCounts();
  }

  // --- incoming ---

  private onRequest(msg: VarpMessage, from: Source): void {
    this.counters.inc(C.requestsReceived);
    const vif = msg.mac !== 0 ? this.locals.get(msg.vnet, msg.mac) : this.localsByIp.get(msg.vnet, msg.ip);
    if (!vif) return this.ignore('not_here');
    // Spec: only the hosting agent answers, unicast to the request's UDP source, nonce copied.
    // A REQUEST a vnetd re-sent on its LAN comes from the relay, not from the
    // requester: the answer goes straight to the requester's COA (spec "RELAY").
    const relayed = from.address !== msg.coa && msg.coa !== 0 && this.sender.io.admits?.(msg.coa) === true;
    const to = relayed ? { address: msg.coa, port: this.sender.io.port } : from;
    if (relayed) this.counters.inc(C.relayedRequestsAnswered);
    this.sender.sendTo(this.sender.forVif(VARP_ANNOUNCE, vif, msg.nonce, 0), to.address, to.port, C.announcesSent);
  }

  private onAnnounce(msg: VarpMessage, from: Source): void {
    let gratuitous = (msg.flags & VARP_FLAG_GRATUITOUS) !== 0;
    this.counters.inc(gratuitous ? C.gratuitousReceived : C.announcesReceived);
    const local = this.locals.get(msg.vnet, msg.mac);
    if (local) {
      if (!local.outgoing || msg.version <= local.version || msg.coa === this.sender.io.ownCoa) return this.ignore('announce_for_local');
      const verified = !gratuitous && this.moves.answered(msg);
      if (gratuitous && this.cfg.key) return this.moves.ask(local, msg.coa, from.address === msg.coa ? from.port : this.sender.io.port);
      if (!gratuitous && !verified) return this.ignore('announce_for_local');
      this.letGo(local);
      this.counters.inc(C.localMovedAway);
      this.sender.io.moved?.(msg.vnet, msg.mac, msg.version);
      // The verified answer is where the VIF lives now: cache it like a GRATUITOUS ANNOUNCE.
      if (verified) gratuitous = true;
    } else if (gratuitous && this.cfg.key) return this.verifyGratuitous(msg, from);
    const e = gratuitous ? this.gratuitousTarget(msg) : this.answeredEntry(msg);
    if (typeof e === 'string') return this.ignore(e);
    if (msg.version < this.cache.knownVersion(e)) return this.ignore('stale_version');
    this.cache.confirm(e, msg, from);
  }

  /** With a key: a cached entry is asked again at the announced COA; the signed answer with our fresh nonce moves it. */
  private verifyGratuitous(msg: VarpMessage, from: Source): void {
    const e = this.cache.get(msg.vnet, msg.mac);
    if (!e || e.state === 'FAILED') return this.ignore('not_cached');
    if (msg.version < this.cache.knownVersion(e)) return this.ignore('stale_version');
    const port = from.address === msg.coa ? from.port : this.sender.io.port;
    this.cache.verify(e, msg.coa, port);
  }

  /** The entry a GRATUITOUS ANNOUNCE updates, created only on a vnet with a VIF here. */
  private gratuitousTarget(msg: VarpMessage): Entry | IgnoreReason {
    const e = this.cache.get(msg.vnet, msg.mac);
    if (e) return e;
    if (!this.locals.hasVnet(msg.vnet)) return 'unrelated_vnet';
    const created = this.cache.create(msg.vnet, msg.mac);
    if (!created) return 'cache_full';
    this.counters.inc(C.entriesLearned);
    return created;
  }

  /** The entry a reply completes: its nonce must be one of ours, for the same (vnet, MAC) or (vnet, IP). */
  private answeredEntry(msg: VarpMessage): Entry | IgnoreReason {
    const pending = this.cache.pending(msg.nonce);
    if (!pending || pending.vnet !== msg.vnet) return 'unsolicited';
    if (pending.type === 'mac') return pending.mac === msg.mac ? pending : 'unsolicited';
    if (!(msg.flags & VARP_FLAG_HAS_IP) || msg.ip !== pending.ip) return 'unsolicited';
    return this.cache.get(msg.vnet, msg.mac) ?? this.cache.create(msg.vnet, msg.mac, true) ?? 'cache_full';
  }

  private onWithdraw(msg: VarpMessage): void {
    this.counters.inc(C.withdrawsReceived);
    const e = this.cache.get(msg.vnet, msg.mac);
    if (!e || e.state !== 'REACHABLE' || e.coa !== msg.coa) return this.ignore('withdraw_mismatch');
    if (msg.version < this.cache.knownVersion(e)) return this.ignore('stale_version');
    this.cache.remove(e);
    this.counters.inc(C.entriesWithdrawn);
  }

  /** `vif` is no longer local: unindexed, its pending move verification forgotten. */
  private letGo(vif: LocalVif): void {
    this.unindexLocal(vif);
    this.locals.delete(vif.vnet, vif.mac);
    this.moves.forget(vif.vnet, vif.mac);
  }

  private unindexLocal(vif: LocalVif): void {
    if (vif.ip !== null && this.localsByIp.get(vif.vnet, vif.ip) === vif) this.localsByIp.delete(vif.vnet, vif.ip);
  }

  private ignore(reason: IgnoreReason): void {
    this.counters.inc(messageIgnored(reason));
  }
}
