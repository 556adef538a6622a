import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';

describe('Backoff', () => {
  it('doubles from 0.5 s up to the 10 s ceiling without jitter', () => {
    const b = new Backoff({ jitter: 0 });
    const delays = Array.from({ length: 8 }, () => b.next());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(b.failures).toBe(8);
  });

  it('keeps each jittered delay within [d/2, d]', () => {
    const low = new Backoff({ random: () => 1 });
    const high = new Backoff({ random: () => 0 });
    expect([low.next(), low.next(), low.next()]).toEqual([250, 500, 1000]);
    expect([high.next(), high.next(), high.next()]).toEqual([500, 1000, 2000]);
  });

  it('starts over after reset', () => {
    const b = new Backoff({ jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(500);
  });

  it('never overflows during a long outage', () => {
    const b = new Backoff({ jitter: 0 });
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(10_000);
  });

  it('refuses nonsense settings', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(/initialMs/);
    expect(() => new Backoff({ initialMs: 20, maxMs: 10 })).toThrow(/initialMs/);
    expect(() => new Backoff({ jitter: 2 })).toThrow(/jitter/);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(/factor/);
  });
});
