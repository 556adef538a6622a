// The dataplane benchmark's summaries never turn a probe without answers into
// a figure: no replies is a failure, not "longest gap 0 ms (0 lost)".
import { describe, expect, it } from 'vitest';
import { compareRounds, longestGap, median, summariseRtts } from './summary.ts';

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

  it('median: the middle value, the mean of the middle two for an even count, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(median([NaN, 5])).toBe(5);
  });

  it('kernel path against VXLAN: one noisy round moves the median, not the verdict', () => {
    const k = [
      { tcpMbps: 12_000, pps: 100_000, rttMs: 0.08, hotRttMs: 0.03 },
      { tcpMbps: 4_000, pps: 40_000, rttMs: 0.5, hotRttMs: 0.2 }, // the machine was busy
      { tcpMbps: 12_500, pps: 98_000, rttMs: 0.09, hotRttMs: 0.03 },
    ];
    const v = [
      { tcpMbps: 13_000, pps: 105_000, rttMs: 0.07, hotRttMs: 0.02 },
      { tcpMbps: 13_500, pps: 104_000, rttMs: 0.08, hotRttMs: 0.02 },
      { tcpMbps: 12_800, pps: 103_000, rttMs: 0.07, hotRttMs: 0.02 },
    ];
    const c = compareRounds(k, v);
    expect(c.rounds).toBe(3);
    expect(c.kernel).toEqual({ tcpMbps: 12_000, pps: 98_000, rttMs: 0.09, hotRttMs: 0.03 });
    expect(c.vxlan.tcpMbps).toBe(13_000);
    expect(c.tcp).toBeCloseTo(12_000 / 13_000);
    expect(c.pps).toBeCloseTo(98_000 / 104_000);
    expect(c.rtt).toBeCloseTo(0.09 / 0.07);
    expect(c.meets).toEqual({ tcp: true, pps: true, rtt: true });
    expect(c.failures).toEqual([]);
  });

  it('kernel path against VXLAN: below 90 % or over 2× misses the target', () => {
    const c = compareRounds([{ tcpMbps: 890, pps: 901, rttMs: 0.21, hotRttMs: 0.1 }], [{ tcpMbps: 1000, pps: 1000, rttMs: 0.1, hotRttMs: 0.1 }]);
    expect(c.meets).toEqual({ tcp: false, pps: true, rtt: false });
  });

  it('kernel path against VXLAN: a figure some round did not get is a failure, and no figure meets nothing', () => {
    const c = compareRounds([{ tcpMbps: 1000, rttMs: 0.1, hotRttMs: 0.1 }, { tcpMbps: 1000, pps: 50, rttMs: 0.1, hotRttMs: 0.1 }], [{ rttMs: 0.1, hotRttMs: 0.1 }, { rttMs: 0.1, hotRttMs: 0.1 }]);
    expect(c.failures).toEqual(['kernel path UDP 64 B packets/s: 1/2 rounds measured', 'VXLAN TCP: 0/2 rounds measured', 'VXLAN UDP 64 B packets/s: 0/2 rounds measured']);
    expect(c.meets.tcp).toBe(false);
    expect(c.meets.pps).toBe(false);
    const none = compareRounds([], []);
    expect(none.failures).toHaveLength(8);
    expect(none.meets).toEqual({ tcp: false, pps: false, rtt: false });
  });
});
