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

/** The median (the mean of the middle two for an even count); NaN without values. */
export function median(values: readonly number[]): number {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One round's figures of one path; a figure the round did not get is absent. */
export interface RoundFigures {
  tcpMbps?: number;
  pps?: number;
  rttMs?: number;
  hotRttMs?: number;
}

export interface RoundsComparison {
  rounds: number;
  /** Medians over the rounds, per path. */
  kernel: Required<RoundFigures>;
  vxlan: Required<RoundFigures>;
  /** Kernel path over VXLAN, of the medians: throughput and packet rate (higher is better), RTTs (lower is better). */
  tcp: number;
  pps: number;
  rtt: number;
  hotRtt: number;
  meets: { tcp: boolean; pps: boolean; rtt: boolean };
  /** Figures some round did not get: the medians stand on fewer rounds than asked, and the run fails. */
  failures: string[];
}

const FIGURES = [
  ['tcpMbps', 'TCP'],
  ['pps', 'UDP 64 B packets/s'],
  ['rttMs', 'ping RTT'],
  ['hotRttMs', 'ping RTT 2 ms apart'],
] as const;

/**
 * The kernel path against kernel VXLAN over interleaved rounds of the same
 * length: the medians of each figure (one noisy moment of a shared machine
 * moves one round, not the verdict), their ratios, and the targets:
 * at least 90 % of VXLAN's TCP throughput and packet rate, ping within 2×.
 */
export function compareRounds(kernel: readonly RoundFigures[], vxlan: readonly RoundFigures[]): RoundsComparison {
  const failures: string[] = [];
  const medians = (rounds: readonly RoundFigures[], name: string) => {
    const out = {} as Required<RoundFigures>;
    for (const [key, label] of FIGURES) {
      const got = rounds.map((r) => r[key]).filter((v): v is number => v !== undefined && !Number.isNaN(v));
      if (got.length < rounds.length || rounds.length === 0) failures.push(`${name} ${label}: ${got.length}/${rounds.length} rounds measured`);
      out[key] = median(got);
    }
    return out;
  };
  const k = medians(kernel, 'kernel path');
  const v = medians(vxlan, 'VXLAN');
  const tcp = k.tcpMbps / v.tcpMbps;
  const pps = k.pps / v.pps;
  const rtt = k.rttMs / v.rttMs;
  const hotRtt = k.hotRttMs / v.hotRttMs;
  // NaN (a figure missing on either side) meets nothing.
  return { rounds: Math.max(kernel.length, vxlan.length), kernel: k, vxlan: v, tcp, pps, rtt, hotRtt, meets: { tcp: tcp >= 0.9, pps: pps >= 0.9, rtt: rtt <= 2 }, failures };
}
