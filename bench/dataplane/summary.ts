// Pure summaries of the dataplane benchmark's probes. Each says when a probe
// got no answer (a `failure`), so no figure is printed as if it were measured.
import { percentile } from './measure.ts';

export interface Reply {
  seq: number;
  /** Arrival time, ms since the epoch (`ping -D`). */
  t: number;
}

export interface GapSummary {
  /** Longest time without a reply, including from the last reply to the end. */
  gapMs: number;
  lostInGap: number;
  replies: number;
  /** Why the gap is not a measurement (no replies, or none after the move). */
  failure?: string;
}

/** The longest gap between replies of a fast ping that ran until `endMs`. */
export function longestGap(replies: readonly Reply[], endMs: number, intervalMs: number): GapSummary {
  if (replies.length < 2) return { gapMs: NaN, lostInGap: NaN, replies: replies.length, failure: `${replies.length} ping replies: no path to measure a gap on` };
  let gapMs = 0;
  let lostInGap = 0;
  for (let i = 1; i < replies.length; i++) {
    const d = replies[i]!.t - replies[i - 1]!.t;
    if (d > gapMs) {
      gapMs = d;
      lostInGap = replies[i]!.seq - replies[i - 1]!.seq - 1;
    }
  }
  const tail = endMs - replies.at(-1)!.t;
  // Replies that stop for good are an outage that never ended, not a short gap.
  if (tail > Math.max(gapMs, 1000 + 2 * intervalMs)) {
    return { gapMs: tail, lostInGap: Math.round(tail / intervalMs), replies: replies.length, failure: `no reply for the last ${tail.toFixed(0)} ms: the guest did not come back` };
  }
  return { gapMs, lostInGap, replies: replies.length };
}

export interface RttSummary {
  p50: number;
  p99: number;
  answered: number;
  asked: number;
  failure?: string;
}

/** RTT percentiles of `asked` probes of which `rtts` answered; any unanswered probe is a failure. */
export function summariseRtts(rtts: readonly number[], asked: number, what: string): RttSummary {
  const s = { p50: percentile([...rtts], 50), p99: percentile([...rtts], 99), answered: rtts.length, asked };
  if (asked === 0) return { ...s, failure: `${what}: nothing was probed` };
  if (rtts.length < asked) return { ...s, failure: `${what}: ${rtts.length}/${asked} answered` };
  return s;
}
