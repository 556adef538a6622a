import { describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { parseIp } from '../wire/index.ts';
import { MAX_COUNTED_PEERS, Remotes } from './remotes.ts';

describe('per-peer underlay counters', () => {
  it('adds what the kernel carried to the counters the socket counts', () => {
    const r = new Remotes();
    const c = new Counters();
    const names = r.counterNames('198.18.0.2');
    c.inc(names.txDatagrams, 2);
    c.inc(names.txBytes, 200);
    r.addKernel(c, parseIp('198.18.0.2'), { txDatagrams: 3, txBytes: 4500, rxDatagrams: 1, rxBytes: 60 });
    r.addKernel(c, '198.18.0.2', { rxDatagrams: 0 });
    expect(c.get('softudc_underlay_peer_tx_datagrams_total{peer="198.18.0.2"}')).toBe(5);
    expect(c.get('softudc_underlay_peer_tx_bytes_total{peer="198.18.0.2"}')).toBe(4700);
    expect(c.get('softudc_underlay_peer_rx_datagrams_total{peer="198.18.0.2"}')).toBe(1);
    expect(c.get('softudc_underlay_peer_rx_bytes_total{peer="198.18.0.2"}')).toBe(60);
  });

  it('keeps the label set bounded: peers beyond the cap are peer="other"', () => {
    const r = new Remotes();
    const c = new Counters();
    for (let i = 0; i < MAX_COUNTED_PEERS + 10; i++) r.addKernel(c, parseIp('198.18.0.0') + 1 + i, { txDatagrams: 1, txBytes: 10 });
    const labels = Object.keys(c.snapshot()).filter((k) => k.startsWith('softudc_underlay_peer_tx_datagrams_total{'));
    expect(labels).toHaveLength(MAX_COUNTED_PEERS + 1);
    expect(c.get('softudc_underlay_peer_tx_datagrams_total{peer="other"}')).toBe(10);
    expect(c.sum('softudc_underlay_peer_tx_bytes_total')).toBe((MAX_COUNTED_PEERS + 10) * 10);
  });
});
