// Frames the switch holds while VARP resolves their destination (spec
// "VARP": an INCOMPLETE entry's FIFO, Defaults [16]). The switch owns them, so
// a frame handed to it leaves it once: sent when VARP reports the route
// (release), or dropped and counted when VARP reports that the resolution
// ended without one (discard: FAILED, preempted, now local, stopped). VARP
// only resolves and notifies (agent/varp/types.ts, VarpIo.resolved/unresolved).
//
// Bounded per destination (queueLimit) and per vnet, all destinations together
// (maxQueuedPerVnet): a guest flooding new destinations fills its own vnet's
// share, never the host's. The counters keep the VARP names docs and alerts use
// (softudc_varp_frames_queued_total, _released_total, _dropped_total{reason}).
import type { Counters } from '../metrics.ts';
import { DEFAULT_VARP_CONFIG, VARP_COUNTERS as C, frameDropped, type HeldDropReason, type Route } from '../varp/index.ts';
import { VnetMap } from '../varp/vnet-map.ts';

export interface HoldLimits {
  /** Frames held per destination (VarpConfig queueLimit). */
  queueLimit: number;
  /** Frames held on one vnet, all its destinations together (VarpConfig maxQueuedPerVnet). */
  maxQueuedPerVnet: number;
}

/** Sends the frames held for a destination, oldest first, once it resolved. */
export type ReleaseFrames = (vnet: number, route: Route, frames: Buffer[]) => void;

export class HeldFrames {
  private readonly queues = new VnetMap<Buffer[]>();
  private readonly perVnet = new Map<number, number>();
  limits: HoldLimits = { queueLimit: DEFAULT_VARP_CONFIG.queueLimit, maxQueuedPerVnet: DEFAULT_VARP_CONFIG.maxQueuedPerVnet };

  constructor(
    private readonly counters: Counters,
    private readonly send: ReleaseFrames,
  ) {}

  /** Holds a copy of `datagram` for (vnet, mac), or drops it (counted) when a bound is reached. */
  hold(vnet: number, mac: number, datagram: Buffer): void {
    let q = this.queues.get(vnet, mac);
    if ((q?.length ?? 0) >= this.limits.queueLimit) return this.drop('queue_overflow', 1);
    const onVnet = this.perVnet.get(vnet) ?? 0;
    if (onVnet >= this.limits.maxQueuedPerVnet) return this.drop('vnet_queue_limit', 1);
    if (q === undefined) this.queues.set(vnet, mac, (q = []));
    // A copy: the datagram may be a view into a batch buffer (a TAP read or a
    // received batch, up to 64 KiB) that the queue must not keep alive.
    q.push(Buffer.from(datagram));
    this.perVnet.set(vnet, onVnet + 1);
    this.counters.inc(C.framesQueued);
  }

  /** (vnet, mac) resolved: its frames go out to `route`, in the order they came. */
  release(vnet: number, mac: number, route: Route): void {
    const frames = this.take(vnet, mac);
    if (frames === undefined) return;
    this.counters.inc(C.framesReleased, frames.length);
    this.send(vnet, route, frames);
  }

  /** The resolution of (vnet, mac) ended without a route: its frames are dropped as `reason`. */
  discard(vnet: number, mac: number, reason: HeldDropReason): void {
    const frames = this.take(vnet, mac);
    if (frames !== undefined) this.drop(reason, frames.length);
  }

  /** Frames held on `vnet`. */
  heldOn(vnet: number): number {
    return this.perVnet.get(vnet) ?? 0;
  }

  /** Frames held on the host. */
  get size(): number {
    let n = 0;
    for (const c of this.perVnet.values()) n += c;
    return n;
  }

  private take(vnet: number, mac: number): Buffer[] | undefined {
    const q = this.queues.get(vnet, mac);
    if (q === undefined) return undefined;
    this.queues.delete(vnet, mac);
    const left = (this.perVnet.get(vnet) ?? 0) - q.length;
    if (left > 0) this.perVnet.set(vnet, left);
    else this.perVnet.delete(vnet);
    return q;
  }

  private drop(reason: HeldDropReason, n: number): void {
    if (n > 0) this.counters.inc(frameDropped(reason), n);
  }
}
