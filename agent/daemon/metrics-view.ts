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
}

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
  return renderPrometheus(i.counters, { ...gauges, ...i.gauges }, i.kernel);
}
