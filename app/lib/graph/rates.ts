// Counter rates from successive agent reports, and the small series the
// host page plots. Counters are monotonic; a smaller value means the agent
// restarted, and the new value is then the increase since that restart
// (as Prometheus' rate() treats resets).

export interface CounterSample {
  /** Milliseconds (the report's receivedAt). */
  at: number;
  values: Readonly<Record<string, number>>;
}

/** Per-second rate of every counter present in both samples. */
export function counterRates(prev: CounterSample, next: CounterSample): Record<string, number> {
  const dt = (next.at - prev.at) / 1000;
  const out: Record<string, number> = {};
  if (!(dt > 0)) return out;
  for (const [name, v] of Object.entries(next.values)) {
    const before = prev.values[name];
    if (before === undefined || !Number.isFinite(v)) continue;
    const increase = v >= before ? v - before : v;
    out[name] = increase / dt;
  }
  return out;
}

export interface RateHistory {
  last: CounterSample | null;
  /** Counter name → recent rates, oldest first. */
  series: Record<string, number[]>;
}

export const emptyHistory = (): RateHistory => ({ last: null, series: {} });

/** Adds a sample: appends one rate per counter, keeping at most `keep` points. Pure. */
export function pushSample(h: RateHistory, sample: CounterSample, keep = 60): RateHistory {
  if (h.last && sample.at <= h.last.at) return h; // a repeated or out-of-order report
  if (!h.last) return { last: sample, series: {} };
  const rates = counterRates(h.last, sample);
  const series: Record<string, number[]> = {};
  for (const [name, r] of Object.entries(rates)) {
    const prev = h.series[name] ?? [];
    series[name] = prev.length >= keep ? [...prev.slice(prev.length - keep + 1), r] : [...prev, r];
  }
  return { last: sample, series };
}

/** SVG path (`M… L…`) of `values` scaled into width × height (y grows downwards). */
export function sparklinePath(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const max = Math.max(...values, 0);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const y = (v: number) => (max > 0 ? height - (v / max) * height : height);
  return values.map((v, i) => `${i === 0 ? 'M' : 'L'}${round(i * step)},${round(y(v))}`).join(' ');
}

const round = (n: number) => Math.round(n * 10) / 10;

/** A rate for people: "0", "3.2", "41", "1.2k", "3.4M" per second. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(1).replace(/\.0$/, '');
  if (perSecond < 1000) return String(Math.round(perSecond));
  if (perSecond < 1e6) return `${(perSecond / 1000).toFixed(1).replace(/\.0$/, '')}k`;
  return `${(perSecond / 1e6).toFixed(1).replace(/\.0$/, '')}M`;
}
