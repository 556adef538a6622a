import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { PEER_VAL_LEN, sumPeerPerCpu, type PeerTotals } from './maps.ts';
import { PeerDeltas } from './readers.ts';

const LE = endianness() === 'LE';
const totals = (txDatagrams: number, txBytes: number, rxDatagrams = 0, rxBytes = 0): PeerTotals => ({ txDatagrams, txBytes, rxDatagrams, rxBytes });

describe('per-peer counters of the kernel path', () => {
  it('decodes struct peer_ctr and sums it over CPUs', () => {
    const b = Buffer.alloc(PEER_VAL_LEN * 2);
    const put = (cpu: number, field: number, v: bigint) => (LE ? b.writeBigUInt64LE(v, cpu * PEER_VAL_LEN + field * 8) : b.writeBigUInt64BE(v, cpu * PEER_VAL_LEN + field * 8));
    put(0, 0, 3n);
    put(0, 1, 4500n);
    put(1, 0, 2n);
    put(1, 1, 100n);
    put(1, 2, 7n);
    put(1, 3, 700n);
    expect(sumPeerPerCpu(b, 2)).toEqual(totals(5, 4600, 7, 700));
    expect(sumPeerPerCpu(b, 1)).toEqual(totals(3, 4500, 0, 0));
  });

  it('gives what grew since the last read, never a negative delta', () => {
    const d = new PeerDeltas();
    // First read: everything counted so far.
    expect(d.next(new Map([[1, totals(2, 200)]]))).toEqual([[1, totals(2, 200)]]);
    // Growth only; a peer that did not move gives nothing.
    expect(d.next(new Map([[1, totals(5, 500, 1, 60)], [2, totals(1, 10)]]))).toEqual([
      [1, totals(3, 300, 1, 60)],
      [2, totals(1, 10)],
    ]);
    expect(d.next(new Map([[1, totals(5, 500, 1, 60)], [2, totals(1, 10)]]))).toEqual([]);
    // Peer 1 evicted by the LRU and back with fewer: counted from zero, not negative.
    const again = d.next(new Map([[1, totals(1, 90)], [2, totals(1, 10)]]));
    expect(again).toEqual([[1, totals(1, 90)]]);
    for (const [, t] of again) for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
    // Gone from the map, then back: again from zero.
    expect(d.next(new Map([[1, totals(1, 90)]]))).toEqual([]);
    expect(d.next(new Map([[1, totals(1, 90)], [2, totals(4, 40)]]))).toEqual([[2, totals(4, 40)]]);
    // A new object (reset): its map starts over.
    d.reset();
    expect(d.next(new Map([[1, totals(1, 5)]]))).toEqual([[1, totals(1, 5)]]);
  });
});
