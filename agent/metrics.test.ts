import { describe, expect, it } from 'vitest';
import { Counters, isValidMetricName, renderPrometheus } from './metrics.ts';

describe('Counters', () => {
  it('increments, reads back and snapshots', () => {
    const c = new Counters();
    expect(c.get('softudc_varp_requests_sent_total')).toBe(0);
    c.inc('softudc_varp_requests_sent_total');
    c.inc('softudc_varp_requests_sent_total', 4);
    c.inc('softudc_varp_frames_dropped_total{reason="queue_overflow"}', 2);
    c.inc('softudc_varp_frames_dropped_total{reason="failed"}');
    expect(c.get('softudc_varp_requests_sent_total')).toBe(5);
    expect(c.sum('softudc_varp_frames_dropped_total')).toBe(3);
    const snap = c.snapshot();
    expect(snap).toEqual({
      softudc_varp_requests_sent_total: 5,
      'softudc_varp_frames_dropped_total{reason="queue_overflow"}': 2,
      'softudc_varp_frames_dropped_total{reason="failed"}': 1,
    });
    snap.softudc_varp_requests_sent_total = 99;
    expect(c.get('softudc_varp_requests_sent_total')).toBe(5);
  });
});

describe('renderPrometheus', () => {
  it('groups label sets under one # TYPE line per family, sorted, with gauges', () => {
    const c = new Counters();
    c.describe('softudc_varp_frames_dropped_total', 'Frames dropped by the VARP engine, by reason.');
    c.inc('softudc_varp_frames_dropped_total{reason="queue_overflow"}', 2);
    c.inc('softudc_varp_requests_sent_total', 5);
    c.inc('softudc_varp_frames_dropped_total{reason="failed"}');
    expect(renderPrometheus(c, { softudc_varp_entries: 3, 'softudc_vifs{vnet="7"}': 2 })).toBe(
      [
        '# HELP softudc_varp_frames_dropped_total Frames dropped by the VARP engine, by reason.',
        '# TYPE softudc_varp_frames_dropped_total counter',
        'softudc_varp_frames_dropped_total{reason="failed"} 1',
        'softudc_varp_frames_dropped_total{reason="queue_overflow"} 2',
        '# TYPE softudc_varp_requests_sent_total counter',
        'softudc_varp_requests_sent_total 5',
        '# TYPE softudc_varp_entries gauge',
        'softudc_varp_entries 3',
        '# TYPE softudc_vifs gauge',
        'softudc_vifs{vnet="7"} 2',
        '',
      ].join('\n'),
    );
  });

  it('renders nothing for nothing, and leaves out names the format cannot carry', () => {
    expect(renderPrometheus(new Counters())).toBe('');
    const c = new Counters();
    c.inc('bad name');
    c.inc('ok_total{reason="x"}');
    c.inc('broken{reason=x}');
    expect(renderPrometheus(c, { nan_gauge: NaN })).toBe('# TYPE ok_total counter\nok_total{reason="x"} 1\n# TYPE nan_gauge gauge\nnan_gauge NaN\n');
  });

  it('validates names and label sets', () => {
    expect(isValidMetricName('a_b:c')).toBe(true);
    expect(isValidMetricName('x{a="1",b="two \\" quoted"}')).toBe(true);
    expect(isValidMetricName('1abc')).toBe(false);
    expect(isValidMetricName('x{a="1"')).toBe(false);
    expect(isValidMetricName('x{}')).toBe(false);
  });
});
