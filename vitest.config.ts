import { defineConfig } from 'vitest/config';

// Unit, API and loopback integration tests. Namespace (root) tests have their
// own config (vitest.netns.config.ts) and browser tests live in e2e/.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.next/**', 'e2e/**', '**/*.netns.test.ts', 'data/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
