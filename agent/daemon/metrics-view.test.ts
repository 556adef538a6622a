// Security group rule hits on /metrics: one series per (group, rule) summed
// over the host's VIFs, never a series per VIF, and at most
// SG_RULE_SERIES_MAX of them, the rest summed in one counter.
import { describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { renderAgentMetrics, SG_RULE_SERIES_MAX } from './metrics-view.ts';

const base = { counters: new Counters(), appliedGeneration: 1, vifs: 0, ports: 0, varp: null };

describe('rule hit series', () => {
  it('sums a rule over VIFs and carries no VIF label', () => {
    const text = renderAgentMetrics({ ...base, ruleHits: [
      { vif: 'a/eth0', group: 'g', rule: 'r', hits: 2 },
      { vif: 'b/eth0', group: 'g', rule: 'r', hits: 3 },
      { vif: 'b/eth0', group: 'g', rule: 'idle', hits: 0 },
    ] });
    expect(text).toMatch(/^softudc_sg_rule_hits_total\{group="g",rule="r"\} 5$/m);
    expect(text).not.toContain('vif=');
    expect(text).not.toContain('rule="idle"');
  });

  it('keeps at most SG_RULE_SERIES_MAX series, the most hit, and sums the rest', () => {
    const hits = Array.from({ length: 5_000 }, (_, i) => ({ vif: `v${i % 50}/eth0`, group: 'g', rule: `r${i}`, hits: i + 1 }));
    const text = renderAgentMetrics({ ...base, ruleHits: hits });
    expect(text.match(/^softudc_sg_rule_hits_total\{/gm)!.length).toBe(SG_RULE_SERIES_MAX);
    expect(text).toMatch(/^softudc_sg_rule_hits_total\{group="g",rule="r4999"\} 5000$/m);
    const rest = (4_000 * 4_001) / 2;
    expect(text).toMatch(new RegExp(`^softudc_sg_rule_hits_other_total ${rest}$`, 'm'));
  });
});
