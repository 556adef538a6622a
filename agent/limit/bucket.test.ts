import { describe, expect, it } from 'vitest';
import { TokenBucket } from './bucket.ts';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate up to the burst', () => {
    let now = 1_000;
    const b = new TokenBucket(10, 3, () => now);
    const takeAll = () => {
      let n = 0;
      while (b.take()) n++;
      return n;
    };
    expect(takeAll()).toBe(3);
    now += 250; // 10/s for 0.25 s: 2.5 tokens
    expect(takeAll()).toBe(2);
    now += 50; // 0.5 + 0.5
    expect(takeAll()).toBe(1);
    now += 60_000; // never more than the burst
    expect(takeAll()).toBe(3);
  });

  it('ignores a clock that goes back', () => {
    let now = 5_000;
    const b = new TokenBucket(1, 1, () => now);
    expect(b.take()).toBe(true);
    now -= 4_000;
    expect(b.take()).toBe(false);
    now += 5_000; // one second after the first take
    expect(b.take()).toBe(true);
  });
});
