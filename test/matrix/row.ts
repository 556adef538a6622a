// One row of the feature matrix: a test that measures a feature and records
// one line saying what it measured. The line goes into the test's meta, so
// test/summary-reporter.ts can print every row together at the end of the
// run, failed rows with their error.
import { it } from 'vitest';
import './meta.ts';

export type Note = (line: string) => void;

/**
 * A matrix row. `body` calls `note` with its measured line before it asserts
 * on it, so a failing row still shows what it saw.
 */
export function row(feature: string, body: (note: Note) => Promise<void>, timeoutMs = 120_000): void {
  it(feature, async ({ task }) => {
    task.meta.featureRow = feature;
    await body((line) => {
      task.meta.measured = line;
      console.log(`[matrix] ${line}`);
    });
  }, timeoutMs);
}

/**
 * Setup shared by several rows (a farm, its guests), made by whichever of
 * them runs first: rows stay runnable alone (`-t`) and share the work when
 * run together.
 */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}
