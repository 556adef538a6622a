// Test helper for the DHCP and DNS codecs: the WireError code a call throws ('ok' when it returns).
import { expect } from 'vitest';
import { WireError } from '../wire/errors.ts';

export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return (e as WireError).code;
  }
  return 'ok';
}
