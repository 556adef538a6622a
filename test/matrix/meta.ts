// What a feature-matrix row leaves in its test's meta, for
// test/summary-reporter.ts to print at the end of the run.
declare module 'vitest' {
  interface TaskMeta {
    /** Set on feature-matrix rows: the feature's name. */
    featureRow?: string;
    /** What the row measured, one line ("conf vnet: 0 of 214 underlay datagrams …"). */
    measured?: string;
  }
}

export {};
