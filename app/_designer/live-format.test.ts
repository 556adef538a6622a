import { describe, expect, it } from 'vitest';
import {
  checkProbe, connectionSummary, counterRows, formatAge, formatMs, pingLine, routeRows, ruleMatch, traceLine,
} from './live-format.ts';

const route = (destination: string, source: string, nextHop: string | null = null, metric = 0) =>
  ({ destination, nextHop, iface: 'eth0', metric, source, text: '' });

describe('formatMs', () => {
  it('keeps more decimals for short times and prints * for no answer', () => {
    expect(formatMs(0.4213)).toBe('0.421 ms');
    expect(formatMs(3.456)).toBe('3.46 ms');
    expect(formatMs(42.26)).toBe('42.3 ms');
    expect(formatMs(1234.4)).toBe('1234 ms');
    expect(formatMs(null)).toBe('*');
  });
});

describe('formatAge', () => {
  it('picks a unit', () => {
    expect(formatAge(250)).toBe('250 ms');
    expect(formatAge(12_400)).toBe('12 s');
    expect(formatAge(125_000)).toBe('2 min');
    expect(formatAge(7_300_000)).toBe('2 h');
  });
});

describe('routeRows', () => {
  it('lists connected, static then RIP routes by address, more specific first', () => {
    const rows = routeRows([
      route('10.9.0.0/16', 'rip', '10.1.0.2', 2),
      route('10.2.0.0/24', 'connected'),
      route('0.0.0.0/0', 'static', '10.1.0.254', 1),
      route('10.1.0.0/24', 'connected'),
      route('10.2.0.0/16', 'rip', '10.1.0.3', 3),
      route('10.2.0.128/25', 'rip', '10.1.0.3', 3),
    ]);
    expect(rows.map((r) => `${r.source} ${r.prefix}`)).toEqual([
      'connected 10.1.0.0/24', 'connected 10.2.0.0/24', 'static 0.0.0.0/0', 'rip 10.2.0.0/16', 'rip 10.2.0.128/25', 'rip 10.9.0.0/16',
    ]);
  });

  it('shows a directly connected network as "direct" and the metric as text', () => {
    const [c, s] = routeRows([route('10.1.0.0/24', 'connected'), route('10.50.0.0/16', 'static', '10.1.0.254', 5)]);
    expect(c).toMatchObject({ prefix: '10.1.0.0/24', nextHop: 'direct', iface: 'eth0', metric: '0' });
    expect(s).toMatchObject({ nextHop: '10.1.0.254', metric: '5' });
    expect(new Set([c!.key, s!.key]).size).toBe(2);
  });
});

describe('counterRows', () => {
  it('lists non-zero counters by name and counts the zero ones', () => {
    expect(counterRows({ 'rx.frames': 1200, 'icmp.sent': 3, 'drop.ttl': 0, 'drop.noroute': 0 })).toEqual({
      rows: [{ name: 'icmp.sent', value: '3' }, { name: 'rx.frames', value: '1,200' }],
      zero: 2,
    });
  });
});

describe('pingLine', () => {
  it('words replies, timeouts and ICMP errors', () => {
    expect(pingLine({ type: 'reply', seq: 1, from: '10.1.0.50', rttMs: 0.42 })).toBe('reply from 10.1.0.50: seq=1 time=0.420 ms');
    expect(pingLine({ type: 'timeout', seq: 2 })).toBe('seq=2: no reply (timed out)');
    expect(pingLine({ type: 'error', seq: 3, from: '10.1.0.1', icmpType: 3, icmpCode: 1, message: 'host unreachable' }))
      .toBe('from 10.1.0.1: seq=3 host unreachable');
  });

  it('summarises with loss and min/avg/max, or without times when nothing answered', () => {
    expect(pingLine({ type: 'summary', sent: 4, received: 3, lossPct: 25, minMs: 0.31, avgMs: 0.4, maxMs: 1.5 }))
      .toBe('4 sent, 3 received, 25% loss; rtt min/avg/max 0.310/0.400/1.50 ms');
    expect(pingLine({ type: 'summary', sent: 3, received: 0, lossPct: 100, minMs: null, avgMs: null, maxMs: null }))
      .toBe('3 sent, 0 received, 100% loss');
    expect(pingLine({ type: 'summary', sent: 3, received: 1, lossPct: 66.6667, minMs: 1, avgMs: 1, maxMs: 1 })).toMatch(/^3 sent, 1 received, 66\.7% loss/);
  });
});

describe('traceLine', () => {
  it('words hops, silent hops and the end of the path', () => {
    expect(traceLine({ type: 'hop', ttl: 1, address: '10.1.0.1', rttMs: 0.5, reached: false, icmpType: 11 }, '10.2.0.9')).toBe('1  10.1.0.1  0.500 ms');
    expect(traceLine({ type: 'hop', ttl: 2, address: null, rttMs: null, reached: false, icmpType: null }, '10.2.0.9')).toBe('2  *  no answer');
    expect(traceLine({ type: 'hop', ttl: 3, address: '10.2.0.9', rttMs: 12.3, reached: true, icmpType: 0 }, '10.2.0.9')).toBe('3  10.2.0.9  12.3 ms  (target)');
    expect(traceLine({ type: 'hop', ttl: 2, address: '10.1.0.1', rttMs: 1, reached: false, icmpType: 3 }, '10.2.0.9')).toBe('2  10.1.0.1  1.00 ms  (unreachable)');
  });

  it('summarises whether the target was reached', () => {
    expect(traceLine({ type: 'summary', reached: true, hops: 1 }, '10.2.0.9')).toBe('reached 10.2.0.9 in 1 hop');
    expect(traceLine({ type: 'summary', reached: false, hops: 30 }, '10.2.0.9')).toBe('10.2.0.9 not reached after 30 hops');
  });
});

describe('ruleMatch and connectionSummary', () => {
  it('describes a rule in one phrase', () => {
    const base = { index: 0, action: 'allow' as const, hits: 0 };
    expect(ruleMatch({ ...base, protocol: 'tcp', source: '0.0.0.0/0', destination: '10.1.0.10/32', ports: '80-443', interface: 'eth0' }))
      .toBe('tcp 0.0.0.0/0 → 10.1.0.10/32 port 80-443 in eth0');
    expect(ruleMatch({ ...base, protocol: 'any', source: '10.1.0.0/24', destination: '0.0.0.0/0', ports: null, interface: null }))
      .toBe('any protocol 10.1.0.0/24 → 0.0.0.0/0');
  });

  it('counts connections by protocol', () => {
    expect(connectionSummary({ total: 3, byProtocol: { tcp: 2, icmp: 1 }, byState: {}, sample: [] })).toBe('3 connections: icmp 1, tcp 2');
    expect(connectionSummary({ total: 0, byProtocol: {}, byState: {}, sample: [] })).toBe('0 connections');
    expect(connectionSummary({ total: 1, byProtocol: { udp: 1 }, byState: {}, sample: [] })).toBe('1 connection: udp 1');
  });
});

describe('checkProbe', () => {
  it('accepts a dotted quad and a count in 1..20, defaulting to 4', () => {
    expect(checkProbe({ target: ' 10.1.0.50 ', count: '3' })).toEqual({ ok: true, target: '10.1.0.50', count: 3 });
    expect(checkProbe({ target: '10.1.0.50', count: '' })).toEqual({ ok: true, target: '10.1.0.50', count: 4 });
    expect(checkProbe({ target: '10.1.0.50' })).toEqual({ ok: true, target: '10.1.0.50', count: 4 });
  });

  it('names the field that is wrong', () => {
    expect(checkProbe({ target: 'vm-1' })).toMatchObject({ ok: false, field: 'target' });
    expect(checkProbe({ target: '10.1.0.256' })).toMatchObject({ ok: false, field: 'target' });
    expect(checkProbe({ target: '10.1.0' })).toMatchObject({ ok: false, field: 'target' });
    for (const count of ['0', '21', '2.5', 'x']) expect(checkProbe({ target: '10.1.0.5', count })).toMatchObject({ ok: false, field: 'count' });
  });
});
