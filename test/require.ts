// Environment gates for tests that need root, namespaces, Postgres or Chromium.
// On a bare laptop such a test may skip, but it must say why; under CI
// (SOFTUDC_REQUIRE_ALL=1) a missing prerequisite is a failure, never a skip.
import { testConfig } from '../config/index.ts';
export const requireAll = testConfig().SOFTUDC_REQUIRE_ALL;

/**
 * Returns true when the prerequisite is met. Otherwise prints the reason and
 * returns false (the caller then uses `describe.skipIf(!ok)`), or throws when
 * SOFTUDC_REQUIRE_ALL=1.
 */
export function prerequisite(ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (requireAll) throw new Error(`SOFTUDC_REQUIRE_ALL=1 but a prerequisite is missing: ${reason}`);
  console.warn(`[skip] ${reason}`);
  return false;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
