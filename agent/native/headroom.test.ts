// Reader batches and in-place encapsulation: the FRAME built in a frame's
// headroom is byte for byte the one a copy builds, and the room is used once,
// only while its batch is handled, and only for a frame exactly as cut.
import { describe, expect, it } from 'vitest';
import { encodeFrame, writeFrameHeader, FRAME_HEADER_LEN } from '../wire/index.ts';
import { FRAME_HEADROOM, Headroom } from './headroom.ts';

/** A batch laid out as reader.c does: FRAME_HEADROOM spare bytes before each frame. */
function batchOf(frames: Buffer[]): { buf: Buffer; lengths: Uint32Array } {
  const buf = Buffer.alloc(frames.reduce((n, f) => n + FRAME_HEADROOM + f.length, 0), 0xee);
  let off = 0;
  for (const f of frames) {
    f.copy(buf, off + FRAME_HEADROOM);
    off += FRAME_HEADROOM + f.length;
  }
  return { buf, lengths: Uint32Array.from(frames.map((f) => f.length)) };
}

const header = (vnet: number) => {
  const h = Buffer.alloc(FRAME_HEADER_LEN);
  writeFrameHeader(h, 0, vnet, 0);
  return h;
};
const frame = (n: number, len = 60) => Buffer.alloc(len, n);

describe('reader batches with headroom', () => {
  const room = new Headroom();
  const handleBatch = room.handleBatch.bind(room);
  const encapsulateInPlace = room.encapsulateInPlace.bind(room);

  it('leaves exactly one FRAME header of room', () => {
    expect(FRAME_HEADROOM).toBe(FRAME_HEADER_LEN);
  });

  it('cuts a batch into its frames', () => {
    const input = [frame(1, 60), frame(2, 1514), frame(3, 14)];
    const { buf, lengths } = batchOf(input);
    let seen: Buffer[] = [];
    handleBatch(buf, lengths, (frames) => (seen = frames));
    expect(seen).toEqual(input);
  });

  it('builds the same datagram in place as encodeFrame does by copying, once per frame', () => {
    const input = [frame(1), frame(2, 1400), frame(3)];
    const { buf, lengths } = batchOf(input);
    handleBatch(buf, lengths, (frames) => {
      // Out of order, as a shaper or VARP queue could make it.
      for (const i of [1, 0, 2]) {
        const d = encapsulateInPlace(header(7), frames[i]!);
        expect(d).toEqual(encodeFrame({ vnet: 7, ethernet: input[i]! }));
        expect(d!.buffer).toBe(buf.buffer); // no copy
      }
      // The room is taken: another vnet's header must not overwrite it.
      expect(encapsulateInPlace(header(8), frames[1]!)).toBeNull();
      expect(buf.subarray(lengths[0]! + FRAME_HEADROOM, lengths[0]! + 2 * FRAME_HEADROOM)).toEqual(header(7));
      expect(frames).toEqual(input);
    });
  });

  it('uses no room outside the batch being handled, nor for a frame cut differently', () => {
    const input = [frame(1), frame(2)];
    const { buf, lengths } = batchOf(input);
    let kept: Buffer[] = [];
    handleBatch(buf, lengths, (frames) => {
      kept = frames;
      expect(encapsulateInPlace(header(7), frames[0]!.subarray(4))).toBeNull(); // its "headroom" is frame bytes
      expect(encapsulateInPlace(header(7), frames[0]!.subarray(0, 20))).toBeNull();
      expect(encapsulateInPlace(header(7), Buffer.from(frames[1]!))).toBeNull(); // a copy
    });
    expect(encapsulateInPlace(header(7), kept[0]!)).toBeNull(); // the batch is done
    expect(buf.subarray(0, FRAME_HEADROOM)).toEqual(Buffer.alloc(FRAME_HEADROOM, 0xee));
  });

  it('handles an empty batch and lets a handler throw without leaking the batch', () => {
    handleBatch(Buffer.alloc(0), new Uint32Array(0), (frames) => expect(frames).toEqual([]));
    const { buf, lengths } = batchOf([frame(1)]);
    let f: Buffer | undefined;
    expect(() =>
      handleBatch(buf, lengths, (frames) => {
        f = frames[0];
        throw new Error('handler bug');
      }),
    ).toThrow('handler bug');
    expect(encapsulateInPlace(header(7), f!)).toBeNull();
  });
});
