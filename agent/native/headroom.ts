// Frames with room in front: a TAP reader batch (reader.c) is one Buffer
// with FRAME_HEADROOM spare bytes before every frame, so the switch can put
// the underlay's FRAME header there and send header and frame as one
// datagram without copying the frame.
//
// The room is only used while the batch is being handled (the reader's
// callback, where the switch forwards each frame synchronously) and at most
// once per frame: whoever claims it owns those bytes, and a second
// encapsulation of the same frame (one that came back through a local port
// onto another vnet, say) copies instead of overwriting a header that may
// still wait in a send queue. A frame handled later (queued by a shaper, say)
// is copied too.
import { FRAME_HEADER_LEN } from '../wire/index.ts';

/** Spare bytes before each frame of a reader batch: exactly one FRAME header (docs/wire.md "FRAME"). */
export const FRAME_HEADROOM = FRAME_HEADER_LEN;

interface Batch {
  buf: Buffer;
  /** buf.buffer and buf.byteOffset, read once (the getters are not free per frame). */
  ab: ArrayBufferLike;
  base: number;
  /** Offset of each frame in `buf`, and its length. */
  starts: Uint32Array;
  lens: Uint32Array;
  claimed: Uint8Array;
  /** Where the next lookup starts: frames are forwarded in order. */
  next: number;
}

/**
 * The reader batch being handled, owned by whoever connects the readers to
 * the switch (the agent has one): TAP readers hand their batches to
 * handleBatch, the switch encapsulates through the same object.
 */
export class Headroom {
  private current: Batch | null = null;

  /**
   * Cuts a reader batch into frame views and calls `handle` with them; while
   * it runs, encapsulateInPlace may use the frames' headroom.
   */
  handleBatch(batch: Buffer, lengths: Uint32Array, handle: (frames: Buffer[]) => void): void {
    const n = lengths.length;
    const frames = new Array<Buffer>(n);
    const starts = new Uint32Array(n);
    let off = FRAME_HEADROOM;
    for (let i = 0; i < n; i++) {
      const len = lengths[i]!;
      starts[i] = off;
      frames[i] = batch.subarray(off, off + len);
      off += len + FRAME_HEADROOM;
    }
    const prev = this.current;
    this.current = { buf: batch, ab: batch.buffer, base: batch.byteOffset, starts, lens: lengths, claimed: new Uint8Array(n), next: 0 };
    try {
      handle(frames);
    } finally {
      this.current = prev;
    }
  }

  /**
   * The datagram `header` + `frame` built in the frame's headroom, or null when
   * the frame is not one of the batch being handled (or its room is taken):
   * the caller copies then.
   */
  encapsulateInPlace(header: Buffer, frame: Buffer): Buffer | null {
    const b = this.current;
    if (b === null || frame.buffer !== b.ab) return null;
    const start = frame.byteOffset - b.base;
    let i = b.next;
    if (i >= b.starts.length || b.starts[i] !== start) i = find(b.starts, start);
    if (i < 0 || b.lens[i] !== frame.length || b.claimed[i] === 1) return null;
    b.claimed[i] = 1;
    b.next = i + 1;
    const out = b.buf.subarray(start - FRAME_HEADROOM, start + frame.length);
    // Ten bytes: a plain loop beats TypedArray#set's generic path.
    for (let k = 0; k < FRAME_HEADROOM; k++) out[k] = header[k]!;
    return out;
  }

  /**
   * The FRAME datagram `header` + `frame`: in the frame's headroom when
   * `inPlace` and it has some (no copy), else in a new buffer (for a datagram
   * that may be held a while: a view would keep its whole batch alive).
   */
  encapsulate(header: Buffer, frame: Buffer, inPlace: boolean): Buffer {
    const view = inPlace ? this.encapsulateInPlace(header, frame) : null;
    if (view !== null) return view;
    const out = Buffer.allocUnsafe(header.length + frame.length);
    header.copy(out, 0);
    frame.copy(out, header.length);
    return out;
  }
}

/** Index of the frame starting at `start` (binary search over ascending starts), or -1. */
function find(starts: Uint32Array, start: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = starts[mid]!;
    if (s === start) return mid;
    if (s < start) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
