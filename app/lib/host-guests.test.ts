import { describe, expect, it } from 'vitest';
import { canRunGuest, guestKinds, guestKindsText } from './host-guests.ts';

describe('host guest kinds', () => {
  it('reads guest:* capabilities and ignores the rest', () => {
    expect(guestKinds(['guest:emulated', 'guest:tap', 'relay'])).toEqual(['emulated', 'tap']);
    expect(guestKindsText(['guest:emulated'])).toBe('emulated');
  });

  it('treats a host that declared nothing as unknown: allowed, and said so', () => {
    expect(guestKinds([])).toBeNull();
    expect(guestKinds(['relay'])).toBeNull();
    expect(canRunGuest([], 'tap')).toBe(true);
    expect(guestKindsText([])).toBe('not declared yet');
  });

  it('refuses a kind a host declared it cannot run', () => {
    expect(canRunGuest(['guest:emulated'], 'tap')).toBe(false);
    expect(canRunGuest(['guest:emulated'], 'emulated')).toBe(true);
    expect(canRunGuest(['guest:emulated', 'guest:tap'], 'tap')).toBe(true);
  });
});
