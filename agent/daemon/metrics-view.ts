// The agent's Prometheus page: every counter plus gauges for the applied
// generation, VIFs, switch ports, VARP entries by state and NAT table sizes.
import { renderPrometheus, type Counters } from '../metrics.ts';
import type { Varp } from '../varp/index.ts';

export interface MetricsInput {
  counters: Counters;
  appliedGeneration: number | null;
  vifs: number;
  ports: number;
  varp: Varp | null;
  /** The kernel fast path's counters (softudc_kernel_*_total). */
  kernel?: Record<string, number>;
  /** Further gauges (the NAT tables' sizes). */
  gauges?: Record<string, number>;
  /** Per-rule hits of the VIFs' security groups, summed over VIFs on /metrics (per VIF: /v1/state and vif.inspect). */
  ruleHits?: Iterable<{ vif: string; group: string; rule: string; hits: number }>;
}

/** Rule hit series on /metrics at most. */
export const SG_RULE_SERIES_MAX = 1_000;

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderAgentMetrics(i: MetricsInput): string {
  const gauges: Record<string, number> = {
    softudc_agent_applied_generation: i.appliedGeneration ?? -1,
    softudc_agent_vifs: i.vifs,
    softudc_switch_ports: i.ports,
    'softudc_varp_entries{state="INCOMPLETE"}': 0,
    'softudc_varp_entries{state="REACHABLE"}': 0,
    'softudc_varp_entries{state="FAILED"}': 0,
  };
  for (const [state, n] of Object.entries(i.varp?.entryCounts() ?? {})) gauges[`softudc_varp_entries{state="${state}"}`] = n;
  const counters: Record<string, number> = { ...i.kernel };
  // One series per (group, rule) hit at least once, at most SG_RULE_SERIES_MAX of them (the most hit);
  // the hits of the rest are summed in softudc_sg_rule_hits_other_total.
  const byRule = new Map<string, number>();
  for (const h of i.ruleHits ?? []) {
    if (h.hits <= 0) continue;
    const k = `softudc_sg_rule_hits_total{group="${label(h.group)}",rule="${label(h.rule)}"}`;
    byRule.set(k, (byRule.get(k) ?? 0) + h.hits);
  }
  const ranked = [...byRule].sort((a, b) => b[1] - a[1]);
  for (const [k, n] of ranked.slice(0, SG_RULE_SERIES_MAX)) counters[k] = n;
  if (ranked.length > SG_RULE_SERIES_MAX) counters.softudc_sg_rule_hits_other_total = ranked.slice(SG_RULE_SERIES_MAX).reduce((n, [, h]) => n + h, 0);
  return renderPrometheus(i.counters, { ...gauges, ...i.gauges }, counters);
}
