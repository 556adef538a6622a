import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW, ReplayWindow } from './replay.ts';

function accept(w: ReplayWindow, seq: bigint): string {
  const v = w.check(seq);
  if (v === 'ok') w.accept(seq);
  return v;
}

describe('ReplayWindow (64 packets)', () => {
  it('accepts increasing sequences and rejects each one the second time', () => {
    const w = new ReplayWindow();
    for (let s = 1n; s <= 100n; s++) expect(accept(w, s)).toBe('ok');
    for (let s = 37n; s <= 100n; s++) expect(accept(w, s)).toBe('replay');
    expect(w.highest).toBe(100n);
  });

  it('takes reordered sequences inside the window once, and nothing behind it', () => {
    const w = new ReplayWindow();
    expect(accept(w, 1000n)).toBe('ok');
    expect(accept(w, 1000n - BigInt(REPLAY_WINDOW - 1))).toBe('ok'); // the oldest slot of the window
    expect(accept(w, 1000n - BigInt(REPLAY_WINDOW - 1))).toBe('replay');
    expect(accept(w, 1000n - BigInt(REPLAY_WINDOW))).toBe('too_old'); // one past the edge
    expect(accept(w, 999n)).toBe('ok');
    expect(accept(w, 999n)).toBe('replay');
    expect(accept(w, 0n)).toBe('too_old');
  });

  it('moves the window: what was inside falls out as newer sequences arrive', () => {
    const w = new ReplayWindow();
    accept(w, 10n);
    expect(w.check(5n)).toBe('ok');
    accept(w, 10n + 59n); // 5 is now 64 behind
    expect(w.check(5n)).toBe('too_old');
    expect(w.check(6n)).toBe('ok');
    accept(w, 6n);
    expect(w.check(6n)).toBe('replay');
    accept(w, 10n + 59n + 1n); // the bitmap shifts by one: 6 is now 64 behind
    expect(w.check(6n)).toBe('too_old');
    expect(w.check(10n)).toBe('replay');
  });

  it('forgets the whole bitmap on a jump wider than the window', () => {
    const w = new ReplayWindow();
    for (let s = 1n; s <= 64n; s++) accept(w, s);
    accept(w, 1000n);
    expect(w.check(1000n - 63n)).toBe('ok');
    expect(w.check(64n)).toBe('too_old');
  });

  it('handles the full u64 range', () => {
    const w = new ReplayWindow();
    const top = (1n << 64n) - 1n;
    expect(accept(w, top - 1n)).toBe('ok');
    expect(accept(w, top)).toBe('ok');
    expect(accept(w, top - 1n)).toBe('replay');
    expect(accept(w, top - 63n)).toBe('ok');
    expect(accept(w, top - 64n)).toBe('too_old');
  });

  it('check alone never moves the window', () => {
    const w = new ReplayWindow();
    accept(w, 100n);
    for (let i = 0; i < 10; i++) expect(w.check(10_000n)).toBe('ok');
    expect(w.highest).toBe(100n);
    expect(w.check(50n)).toBe('ok');
  });
});
