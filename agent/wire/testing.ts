// Shared assertions for the codec tests (imported by *.test.ts only).
import { expect } from 'vitest';
import { WireError, type WireErrorCode } from './errors.ts';

/** Asserts that `fn` throws a WireError with `code` (or one of `codes`). */
export function expectWireError(fn: () => unknown, ...codes: WireErrorCode[]): WireError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a WireError').toBeInstanceOf(WireError);
  const err = thrown as WireError;
  if (codes.length > 0) expect(codes).toContain(err.code);
  return err;
}

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
