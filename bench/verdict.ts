// A benchmark whose probe got no answer measured nothing: it says so, in the
// output, and the run fails (exit code 1) instead of printing a figure that
// looks perfect (a gap of 0 ms, 0 lost) or a dash that reads like "n/a".
const failed: string[] = [];

/** Records a failure of the run and prints it where the figure would have been. */
export function fail(what: string): void {
  failed.push(what);
  console.log(`  FAILED: ${what}`);
  process.exitCode = 1;
}

/** `ok`, or a recorded failure saying `what` went unanswered. */
export function expectAnswer(ok: boolean, what: string): boolean {
  if (!ok) fail(what);
  return ok;
}

/** The failures so far (for the closing summary). */
export function failures(): readonly string[] {
  return failed;
}

/** Prints the closing summary and exits: 1 when anything failed. */
export function finish(name: string): never {
  if (failed.length) {
    console.log(`\n${name}: FAILED, ${failed.length} measurement(s) got no answer:`);
    for (const f of failed) console.log(`  - ${f}`);
  }
  process.exit(failed.length || process.exitCode ? 1 : 0);
}
