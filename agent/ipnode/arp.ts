// A virtual router interface's own ARP cache (RFC 826; behaviour after RFC
// 1122 2.3.2.2 and Linux's neighbour table): the first packet to an unknown
// next hop starts a resolution, the packets behind it wait in a small queue,
// requests are repeated a few times, and a next hop that never answers is
// remembered as FAILED for a moment so that its traffic fails fast (ICMP host
// unreachable) instead of queueing again. Timers are unref'd and owned here.

export interface ArpOptions {
  /** How long a learned mapping is used before it is resolved again. */
  reachableMs: number;
  /** Requests per resolution (the first is sent at once). */
  retries: number;
  retryMs: number;
  /** Packets queued per unresolved next hop (RFC 1122 asks for at least one). */
  queueLimit: number;
  /** How long a FAILED entry answers "unreachable" at once. */
  failedHoldMs: number;
  /** Bounded so that spoofed ARP cannot grow memory without limit. */
  maxEntries: number;
}

export const ARP_DEFAULTS: Readonly<ArpOptions> = {
  reachableMs: 30_000, // Linux base_reachable_time
  retries: 3, // Linux mcast_solicit
  retryMs: 1_000, // Linux retrans_time
  queueLimit: 8,
  failedHoldMs: 3_000,
  maxEntries: 1024,
};

export type ArpState = 'INCOMPLETE' | 'REACHABLE' | 'FAILED';

interface Entry {
  ip: number;
  mac: number;
  state: ArpState;
  tries: number;
  queue: Buffer[];
  timer: NodeJS.Timeout | null;
  since: number;
}

export interface ArpEntryView {
  ip: number;
  mac: number | null;
  state: ArpState;
  ageMs: number;
  queued: number;
}

export interface ArpIo {
  /** Broadcasts a request for `ip`. */
  request(ip: number): void;
  /** A queued frame, now that its next hop is known. */
  transmit(frame: Buffer, mac: number): void;
  /** Frames whose next hop did not answer (the owner answers ICMP host unreachable). */
  unreachable(frames: Buffer[]): void;
  /** A frame refused because the queue for its next hop is full. */
  overflow(frame: Buffer): void;
}

export class ArpCache {
  private readonly entries = new Map<number, Entry>();
  private readonly opts: ArpOptions;

  constructor(
    private readonly io: ArpIo,
    opts: Partial<ArpOptions> = {},
  ) {
    this.opts = { ...ARP_DEFAULTS, ...opts };
  }

  /** The MAC of a REACHABLE next hop (the packet path's only call). */
  lookup(ip: number): number | undefined {
    const e = this.entries.get(ip);
    return e !== undefined && e.state === 'REACHABLE' ? e.mac : undefined;
  }

  /**
   * `frame` is for `ip`, whose MAC is not known: queue it behind a resolution
   * (starting one if needed), or fail it at once when `ip` recently failed.
   */
  enqueue(ip: number, frame: Buffer): void {
    let e = this.entries.get(ip);
    if (e !== undefined && e.state === 'FAILED') {
      this.io.unreachable([frame]);
      return;
    }
    if (e === undefined) {
      if (!this.makeRoom()) {
        this.io.overflow(frame);
        return;
      }
      e = { ip, mac: 0, state: 'INCOMPLETE', tries: 0, queue: [], timer: null, since: Date.now() };
      this.entries.set(ip, e);
      e.queue.push(frame);
      this.ask(e);
      return;
    }
    if (e.state === 'REACHABLE') {
      // A caller racing an update; the mapping is there after all.
      this.io.transmit(frame, e.mac);
      return;
    }
    if (e.queue.length >= this.opts.queueLimit) {
      this.io.overflow(frame);
      return;
    }
    e.queue.push(frame);
  }

  /**
   * A mapping seen in an ARP packet. An existing entry is always updated
   * (RFC 826 "merge"); a new one is created only when `create` (the packet
   * was addressed to us), so that broadcast chatter does not fill the cache.
   */
  learn(ip: number, mac: number, create: boolean): void {
    let e = this.entries.get(ip);
    if (e === undefined) {
      if (!create || !this.makeRoom()) return;
      e = { ip, mac, state: 'REACHABLE', tries: 0, queue: [], timer: null, since: Date.now() };
      this.entries.set(ip, e);
    }
    const queued = e.queue;
    e.queue = [];
    e.mac = mac;
    e.state = 'REACHABLE';
    e.tries = 0;
    e.since = Date.now();
    this.arm(e, this.opts.reachableMs, () => this.entries.delete(ip));
    for (const f of queued) this.io.transmit(f, mac);
  }

  /** Forgets one next hop (or all), dropping what waits for it. */
  forget(ip?: number): void {
    const list = ip === undefined ? [...this.entries.values()] : [this.entries.get(ip)].filter((e): e is Entry => !!e);
    for (const e of list) {
      if (e.timer) clearTimeout(e.timer);
      this.entries.delete(e.ip);
    }
  }

  view(): ArpEntryView[] {
    const now = Date.now();
    return [...this.entries.values()]
      .map((e) => ({ ip: e.ip, mac: e.state === 'REACHABLE' ? e.mac : null, state: e.state, ageMs: now - e.since, queued: e.queue.length }))
      .sort((a, b) => a.ip - b.ip);
  }

  get size(): number {
    return this.entries.size;
  }

  private ask(e: Entry): void {
    if (e.tries >= this.opts.retries) {
      const frames = e.queue;
      e.queue = [];
      e.state = 'FAILED';
      e.since = Date.now();
      this.arm(e, this.opts.failedHoldMs, () => this.entries.delete(e.ip));
      if (frames.length) this.io.unreachable(frames);
      return;
    }
    e.tries++;
    this.arm(e, this.opts.retryMs, () => this.ask(e));
    this.io.request(e.ip);
  }

  private arm(e: Entry, ms: number, fn: () => void): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = null;
      fn();
    }, ms);
    e.timer.unref();
  }

  /** Evicts the oldest settled entry when full; false when everything is mid-resolution. */
  private makeRoom(): boolean {
    if (this.entries.size < this.opts.maxEntries) return true;
    for (const e of this.entries.values()) {
      if (e.state !== 'INCOMPLETE') {
        if (e.timer) clearTimeout(e.timer);
        this.entries.delete(e.ip);
        return true;
      }
    }
    return false;
  }
}
