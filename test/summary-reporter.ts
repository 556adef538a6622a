// Prints one closing line, `tests: N passed, N failed, N skipped`, after the
// default reporter's summary, so CI logs state the outcome in plain words.
// Before it, when feature-matrix rows ran (test/matrix/row.ts), one line per
// feature with what it measured, failed rows with their error.
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import './matrix/meta.ts';

function matrixLine(test: TestCase): string | null {
  const meta = test.meta();
  if (!meta.featureRow) return null;
  const r = test.result();
  const measured = meta.measured ?? `${meta.featureRow}: nothing measured`;
  if (r.state === 'passed') return `  ✓ ${measured}`;
  const why = r.state === 'failed' ? (r.errors?.[0]?.message ?? 'failed').split('\n')[0] : r.state;
  return `  ✗ ${measured} — FAILED: ${why}`;
}

export default class SummaryLineReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const matrix: string[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const line = matrixLine(test);
        if (line) matrix.push(line);
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      // A file that failed to load has no tests but must count as a failure.
      if (mod.state() === 'failed' && !mod.children.size) failed++;
    }
    if (matrix.length) console.log(`\nfeature matrix (${matrix.length} rows):\n${matrix.join('\n')}`);
    console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  }
}
