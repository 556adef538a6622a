import { describe, expect, it } from 'vitest';
import { counterRates, emptyHistory, formatRate, pushSample, sparklinePath } from './rates.ts';
import { syntheticTopology } from './synthetic.ts';
import { isEdge, isNode } from './elements.ts';

describe('counter rates', () => {
  it('computes per-second rates and treats a smaller value as a restart', () => {
    expect(counterRates({ at: 0, values: { a: 10, b: 100, gone: 1 } }, { at: 2000, values: { a: 30, b: 4, fresh: 7 } })).toEqual({ a: 10, b: 2 });
    expect(counterRates({ at: 5, values: { a: 1 } }, { at: 5, values: { a: 2 } })).toEqual({});
  });

  it('keeps a bounded series and ignores repeated reports', () => {
    let h = emptyHistory();
    for (let i = 0; i <= 10; i++) h = pushSample(h, { at: i * 1000, values: { a: i * i } }, 4);
    expect(h.series.a).toEqual([13, 15, 17, 19]); // (i² − (i−1)²) per second for i = 7..10
    const same = pushSample(h, { at: 10_000, values: { a: 0 } }, 4);
    expect(same).toBe(h);
  });

  it('draws a sparkline inside its box', () => {
    expect(sparklinePath([], 10, 10)).toBe('');
    expect(sparklinePath([0, 5, 10], 100, 20)).toBe('M0,20 L50,10 L100,0');
    expect(sparklinePath([0, 0], 10, 4)).toBe('M0,4 L10,4');
  });

  it('formats rates briefly', () => {
    expect([0, 0.25, 3, 12.4, 999, 1500, 2_500_000, -1, NaN].map(formatRate)).toEqual(['0', '0.3', '3', '12', '999', '1.5k', '2.5M', '0', '0']);
  });
});

describe('syntheticTopology', () => {
  it('has exactly the requested counts, valid ends and unique ids, repeatably', () => {
    const els = syntheticTopology({ nodes: 2000, edges: 3000, seed: 3 });
    const nodes = els.filter(isNode);
    const edges = els.filter(isEdge);
    expect(nodes).toHaveLength(2000);
    expect(edges).toHaveLength(3000);
    const ids = new Set(nodes.map((n) => n.data.id));
    expect(ids.size).toBe(2000);
    expect(edges.every((e) => ids.has(e.data.source) && ids.has(e.data.target))).toBe(true);
    expect(nodes.every((n) => n.position)).toBe(true);
    expect(syntheticTopology({ nodes: 2000, edges: 3000, seed: 3 })).toEqual(els);
  });
});
