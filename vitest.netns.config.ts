import { defineConfig } from 'vitest/config';

// Tests that create network namespaces, veth pairs and TAP devices (root).
// They run one file at a time: namespaces and kernel devices are global state.
export default defineConfig({
  test: {
    include: ['**/*.netns.test.ts'],
    exclude: ['node_modules/**', '.next/**'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
