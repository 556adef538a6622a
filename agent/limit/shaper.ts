// Per-VIF bandwidth limit on what a guest sends (docs/agent-state.md
// "vifs[].limit"): a token bucket refilled at the rate, `burst` bytes deep.
// A frame that finds tokens passes at once; one that does not waits in a
// short FIFO (shaping: a TCP sender then sees delay before it sees loss, and
// settles at the rate instead of oscillating below it); a frame that finds
// the FIFO full is dropped and counted, which is what makes TCP back off.
//
// The rate counts IP bytes (the frame without its Ethernet header and VLAN
// tag): what the guest's own stack and tools such as iperf3 reason about.
import { ETH_HEADER_LEN, ETHERTYPE_VLAN, VLAN_TAG_LEN } from '../wire/index.ts';
import type { Counters } from '../metrics.ts';

export interface LimitSpec {
  rateMbps: number;
  /** Bucket depth in KiB (1024 bytes). */
  burstKb?: number;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Default bucket: this long at the rate, and at least MIN_BURST bytes. */
const BURST_MS = 10;
const MIN_BURST = 32 * 1024;
/**
 * Never shallower than this long at the rate, whatever was asked: the queue
 * drains on timers (1 ms at best, later under load) and tokens beyond the
 * bucket are lost, so a shallower bucket could not reach the rate.
 */
const TIMER_SLACK_MS = 4;
/** The FIFO holds this long at the rate, and at least MIN_QUEUE bytes: bounded added delay. */
const QUEUE_MS = 50;
const MIN_QUEUE = 64 * 1024;
const BITS_PER_BYTE = 8;

function labelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Bytes of a frame that count against the rate. */
export function chargedBytes(frame: Buffer): number {
  const tagged = frame.length >= ETH_HEADER_LEN && frame.readUInt16BE(12) === ETHERTYPE_VLAN;
  return Math.max(0, frame.length - ETH_HEADER_LEN - (tagged ? VLAN_TAG_LEN : 0));
}

export class VifShaper {
  private bytesPerMs = 0;
  private burst = 0;
  private queueLimit = 0;
  private tokens = 0;
  private last = 0;
  /** FIFO as an array and a head index: shift() would be quadratic on a long queue. */
  private queue: Buffer[] = [];
  private head = 0;
  private queuedBytes = 0;
  private timer: unknown = null;
  private next: (frame: Buffer) => void = () => {};
  private readonly names: { dropped: string; droppedBytes: string; delayed: string };

  constructor(
    vif: string,
    private readonly counters: Counters,
    private readonly clock: Clock = systemClock,
  ) {
    const l = `{vif="${labelValue(vif)}"}`;
    this.names = {
      dropped: `softudc_vif_limit_dropped_frames_total${l}`,
      droppedBytes: `softudc_vif_limit_dropped_bytes_total${l}`,
      delayed: `softudc_vif_limit_delayed_frames_total${l}`,
    };
  }

  /** Sets, changes or (undefined) removes the limit; frames waiting are kept in order. */
  configure(limit: LimitSpec | undefined): void {
    if (!limit) {
      this.bytesPerMs = 0;
      this.flushAll();
      return;
    }
    const bytesPerMs = (limit.rateMbps * 1e6) / BITS_PER_BYTE / 1000;
    const asked = limit.burstKb !== undefined ? limit.burstKb * 1024 : Math.max(MIN_BURST, bytesPerMs * BURST_MS);
    const burst = Math.max(asked, bytesPerMs * TIMER_SLACK_MS);
    const first = this.bytesPerMs === 0;
    this.bytesPerMs = bytesPerMs;
    this.burst = burst;
    this.queueLimit = Math.max(MIN_QUEUE, bytesPerMs * QUEUE_MS, burst);
    if (first) {
      this.tokens = burst;
      this.last = this.clock.now();
    } else this.tokens = Math.min(this.tokens, burst);
  }

  get limited(): boolean {
    return this.bytesPerMs > 0;
  }

  /** The frame handler to give the guest: limits, then calls `next`. */
  wrap(next: (frame: Buffer) => void): (frame: Buffer) => void {
    this.next = next;
    return (frame) => this.admit(frame);
  }

  admit(frame: Buffer): void {
    if (this.bytesPerMs === 0) return this.next(frame);
    const size = chargedBytes(frame);
    if (this.head === this.queue.length) {
      this.refill();
      // A frame larger than the whole bucket passes when the bucket is full (and goes into debt).
      if (this.tokens >= Math.min(size, this.burst)) {
        this.tokens -= size;
        return this.next(frame);
      }
    }
    if (this.queuedBytes + size > this.queueLimit) {
      this.counters.inc(this.names.dropped);
      this.counters.inc(this.names.droppedBytes, size);
      return;
    }
    // A copy: the frame may be a view into a TAP read batch (up to hundreds of
    // KiB) that a queue of small frames must not keep alive.
    this.queue.push(Buffer.from(frame));
    this.queuedBytes += size;
    this.counters.inc(this.names.delayed);
    this.arm();
  }

  /** Frames waiting are dropped (counted); no timer stays behind. */
  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.queue.length - this.head;
    if (waiting > 0) {
      this.counters.inc(this.names.dropped, waiting);
      this.counters.inc(this.names.droppedBytes, this.queuedBytes);
    }
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  /**
   * Adds the tokens earned since the last refill. While frames wait, the
   * bucket is not capped until they are served: a drain timer that fires late
   * (a busy event loop) must not cost the backlog the time it waited.
   */
  private refill(capped = true): void {
    const t = this.clock.now();
    this.tokens += (t - this.last) * this.bytesPerMs;
    if (capped) this.tokens = Math.min(this.burst, this.tokens);
    this.last = t;
  }

  private arm(): void {
    if (this.timer !== null || this.head === this.queue.length) return;
    const need = Math.min(chargedBytes(this.queue[this.head]!), this.burst) - this.tokens;
    const wait = Math.max(1, Math.ceil(need / this.bytesPerMs));
    this.timer = this.clock.setTimeout(() => this.drain(), wait);
  }

  private drain(): void {
    this.timer = null;
    this.refill(false);
    while (this.head < this.queue.length) {
      const frame = this.queue[this.head]!;
      const size = chargedBytes(frame);
      if (this.tokens < Math.min(size, this.burst)) break;
      this.tokens -= size;
      this.queuedBytes -= size;
      this.queue[this.head++] = undefined as unknown as Buffer;
      this.next(frame);
    }
    this.tokens = Math.min(this.burst, this.tokens);
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }

  private flushAll(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const q = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    for (const f of q) this.next(f);
  }
}
