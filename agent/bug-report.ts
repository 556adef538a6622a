// A bug on the packet path (a handler or a timer that threw) is reported in
// the log with its stack, at most once per place every REPORT_INTERVAL_MS, with
// the number of reports held back since: a datagram that triggers it again and
// again must not flood the log. What it cost is counted by the caller.
import type { Logger } from './log.ts';

const REPORT_INTERVAL_MS = 10_000;
/** Places remembered at most (they are code locations, a handful in practice). */
const MAX_PLACES = 64;

export class BugReports {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(private readonly logger: Logger) {}

  report(where: string, err: unknown): void {
    const t = performance.now();
    let place = this.last.get(where);
    if (place && t - place.at < REPORT_INTERVAL_MS) {
      place.held++;
      return;
    }
    if (!place) {
      if (this.last.size >= MAX_PLACES) this.last.clear();
      this.last.set(where, (place = { at: t, held: 0 }));
    }
    const e = err instanceof Error ? err : new Error(String(err));
    this.logger.error('bug: packet path handler threw; the datagram or timer run was dropped and counted', {
      where,
      error: e.message,
      stack: e.stack,
      heldBack: place.held,
    });
    place.at = t;
    place.held = 0;
  }
}
