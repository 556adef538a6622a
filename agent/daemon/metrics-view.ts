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
  /** Per-rule hits of the VIFs' security groups (only rules that were hit: the series stay bounded by traffic seen). */
  ruleHits?: Iterable<{ vif: string; group: string; rule: string; hits: number }>;
}

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
  for (const h of i.ruleHits ?? []) {
    if (h.hits > 0) counters[`softudc_sg_rule_hits_total{vif="${label(h.vif)}",group="${label(h.group)}",rule="${label(h.rule)}"}`] = h.hits;
  }
  return renderPrometheus(i.counters, { ...gauges, ...i.gauges }, counters);
}
