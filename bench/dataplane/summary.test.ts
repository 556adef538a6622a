// The dataplane benchmark's summaries never turn a probe without answers into
// a figure: no replies is a failure, not "longest gap 0 ms (0 lost)".
import { describe, expect, it } from 'vitest';
import { longestGap, summariseRtts } from './summary.ts';

const at = (t0: number, seqs: number[], step = 10) => seqs.map((seq) => ({ seq, t: t0 + seq * step }));

describe('dataplane benchmark summaries', () => {
  it('a ping that got no reply is a failure, never a gap of 0 ms', () => {
    const g = longestGap([], 5_000, 10);
    expect(g.failure).toMatch(/0 ping replies/);
    expect(g.gapMs).toBeNaN();
    expect(longestGap(at(0, [1]), 5_000, 10).failure).toMatch(/1 ping replies/);
  });

  it('measures the longest gap and the replies lost in it', () => {
    const replies = [...at(0, [0, 1, 2, 3]), ...at(0, [9, 10, 11, 12])];
    expect(longestGap(replies, 130, 10)).toEqual({ gapMs: 60, lostInGap: 5, replies: 8 });
  });

  it('replies that stop for good are a failure with the outage so far, not the last short gap', () => {
    const g = longestGap(at(0, [0, 1, 2, 3]), 3_000, 10);
    expect(g.failure).toMatch(/did not come back/);
    expect(g.gapMs).toBe(2_970);
  });

  it('RTTs: every probe unanswered or some unanswered is a failure naming the count', () => {
    expect(summariseRtts([], 60, 'VARP first ping').failure).toBe('VARP first ping: 0/60 answered');
    expect(summariseRtts([1, 2], 3, 'x').failure).toBe('x: 2/3 answered');
    expect(summariseRtts([], 0, 'x').failure).toBe('x: nothing was probed');
    const ok = summariseRtts([1, 2, 3, 4], 4, 'x');
    expect(ok).toEqual({ p50: 2, p99: 4, answered: 4, asked: 4 });
  });
});
