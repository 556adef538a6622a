// Counters for the agent, rendered in the Prometheus text exposition format
// (version 0.0.4). A name may carry labels as a suffix, written once at the
// call site: `softudc_varp_frames_dropped_total{reason="queue_overflow"}`.
// Incrementing is one Map lookup: no label parsing on the packet path.

export class Counters {
  private readonly values = new Map<string, number>();
  private readonly help = new Map<string, string>();

  inc(name: string, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** Optional `# HELP` text for a metric family (the name without labels). */
  describe(family: string, text: string): void {
    this.help.set(family, text);
  }

  helpFor(family: string): string | undefined {
    return this.help.get(family);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }

  /** Sum of a family over all its label sets (e.g. every drop reason). */
  sum(family: string): number {
    let total = 0;
    for (const [name, v] of this.values) if (familyOf(name) === family) total += v;
    return total;
  }
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABELS_RE = /^\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\}$/;

export function familyOf(name: string): string {
  const brace = name.indexOf('{');
  return brace < 0 ? name : name.slice(0, brace);
}

/** A name the exposition format accepts: a metric name, optionally followed by a well-formed label set. */
export function isValidMetricName(name: string): boolean {
  const family = familyOf(name);
  if (!NAME_RE.test(family)) return false;
  return family.length === name.length || LABELS_RE.test(name.slice(family.length));
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function renderFamilies(
  out: string[],
  type: 'counter' | 'gauge',
  samples: Iterable<[string, number]>,
  help: (family: string) => string | undefined,
): void {
  const families = new Map<string, [string, number][]>();
  for (const [name, v] of samples) {
    // A malformed name would make the whole scrape unparseable: leave it out.
    if (!isValidMetricName(name)) continue;
    const family = familyOf(name);
    let list = families.get(family);
    if (!list) families.set(family, (list = []));
    list.push([name, v]);
  }
  for (const family of [...families.keys()].sort()) {
    const text = help(family);
    if (text) out.push(`# HELP ${family} ${text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    out.push(`# TYPE ${family} ${type}`);
    for (const [name, v] of families.get(family)!.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      out.push(`${name} ${formatValue(v)}`);
    }
  }
}

/**
 * Prometheus text format: counters as `counter`, `extraGauges` (e.g. cache
 * sizes, applied generation) as `gauge`, families sorted, one `# TYPE` line each.
 */
export function renderPrometheus(counters: Counters, extraGauges?: Record<string, number>, extraCounters?: Record<string, number>): string {
  const out: string[] = [];
  renderFamilies(out, 'counter', [...Object.entries(counters.snapshot()), ...Object.entries(extraCounters ?? {})], (f) => counters.helpFor(f));
  if (extraGauges) renderFamilies(out, 'gauge', Object.entries(extraGauges), (f) => counters.helpFor(f));
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
