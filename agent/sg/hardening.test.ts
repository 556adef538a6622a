// The filter against abuse of its state: connections revoked by a rule
// change (tombstones), ICMP errors checked against the flow they quote,
// closed TCP connections, fragments held across a rule change.
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { createLogger } from '../log.ts';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../firewall/flow.ts';
import { securityGroupSchema, type SecurityGroupSpec } from '../../contract/securityGroups.ts';
import { sgBudget, VifFilter } from './filter.ts';
import { SgDropLog } from './log.ts';
import { icmpFrame, tcpFrame, udpFrame } from './testing.ts';
import type { ConntrackTimeouts } from '../firewall/conntrack.ts';

const A = '10.0.0.5'; // the guest behind the VIF
const B = '203.0.113.9';
const filters: VifFilter[] = [];
afterEach(() => {
  for (const f of filters.splice(0)) f.stop();
});
type RuleIn = Record<string, unknown> & { id: string; direction: 'ingress' | 'egress' };
const group = (id: string, rules: RuleIn[]): SecurityGroupSpec => securityGroupSchema.parse({ id, rules });
function setup(groups: SecurityGroupSpec[], conntrack?: Partial<ConntrackTimeouts>) {
  const counters = new Counters();
  const f = new VifFilter('vm/eth0', groups.map((g) => g.id), groups, { counters, log: new SgDropLog(createLogger({ level: 'error', write: () => {} }), counters), conntrack });
  filters.push(f);
  return f;
}

describe('revoked connections', () => {
  it('a removed ingress rule ends the inbound stream both ways, even under an open egress', () => {
    const f = setup([group('g', [
      { id: 'ssh', direction: 'ingress', protocol: 'tcp', portFrom: 22 },
      { id: 'out', direction: 'egress' },
    ])]);
    expect(f.ingress(tcpFrame(B, 40000, A, 22, TCP_SYN))).toBe(true);
    expect(f.egress(tcpFrame(A, 22, B, 40000, TCP_SYN | TCP_ACK))).toBe(true);
    expect(f.ingress(tcpFrame(B, 40000, A, 22, TCP_ACK))).toBe(true);
    expect(f.update(['g'], [group('g', [{ id: 'out', direction: 'egress' }])])).toBe(true);
    // The server's next segment is not taken up as a new connection, and the client's stays dropped.
    expect(f.egress(tcpFrame(A, 22, B, 40000, TCP_ACK))).toBe(false);
    expect(f.ingress(tcpFrame(B, 40000, A, 22, TCP_ACK))).toBe(false);
    expect(f.egress(tcpFrame(A, 22, B, 40000, TCP_ACK, 100))).toBe(false);
    expect(f.connections().filter((c) => c.to === `${A}:22`)).toHaveLength(1);
    // The rule back: the connection is allowed again.
    f.update(['g'], [group('g', [{ id: 'ssh', direction: 'ingress', protocol: 'tcp', portFrom: 22 }, { id: 'out', direction: 'egress' }])]);
    expect(f.ingress(tcpFrame(B, 40000, A, 22, TCP_ACK))).toBe(true);
  });

  it('a RST ends the tombstone after the closed timeout; a new SYN is judged by the rules', () => {
    const f = setup([group('g', [{ id: 'ssh', direction: 'ingress', protocol: 'tcp', portFrom: 22 }, { id: 'out', direction: 'egress' }])], { closedMs: 10_000 });
    f.ingress(tcpFrame(B, 40000, A, 22, TCP_SYN));
    f.egress(tcpFrame(A, 22, B, 40000, TCP_SYN | TCP_ACK));
    f.update(['g'], [group('g', [{ id: 'out', direction: 'egress' }])]);
    expect(f.egress(tcpFrame(A, 22, B, 40000, TCP_RST))).toBe(false);
    expect(f.connections()[0]!.state).toBe('CLOSED');
    expect(f.connections()[0]!.expiresInMs).toBeLessThanOrEqual(10_000);
    // The client's new SYN: no rule allows it any more.
    expect(f.ingress(tcpFrame(B, 40000, A, 22, TCP_SYN))).toBe(false);
    // The guest's own new SYN on those ports is a new egress connection.
    expect(f.egress(tcpFrame(A, 22, B, 40000, TCP_SYN))).toBe(true);
  });

  it('a revoked UDP flow is dropped both ways', () => {
    const f = setup([group('g', [{ id: 'dns', direction: 'ingress', protocol: 'udp', portFrom: 53 }, { id: 'out', direction: 'egress' }])]);
    expect(f.ingress(udpFrame(B, 5000, A, 53))).toBe(true);
    f.update(['g'], [group('g', [{ id: 'out', direction: 'egress' }])]);
    expect(f.egress(udpFrame(A, 53, B, 5000))).toBe(false);
    expect(f.ingress(udpFrame(B, 5000, A, 53))).toBe(false);
  });
});

describe('ICMP errors', () => {
  const DNS = '10.0.0.53';
  it('going out: only to the end the quoted packet came from, quoting a packet the guest received, not too long', () => {
    const f = setup([group('g', [{ id: 'dns', direction: 'egress', protocol: 'udp', portFrom: 53, remote: [`${DNS}/32`] }])]);
    expect(f.egress(udpFrame(A, 5000, DNS, 53))).toBe(true);
    expect(f.ingress(udpFrame(DNS, 53, A, 5000))).toBe(true);
    const reply = udpFrame(DNS, 53, A, 5000);
    // The guest reports the DNS server's reply as unreachable: to the server, it passes.
    expect(f.egress(icmpFrame(A, DNS, 3, 3, 0, reply))).toBe(true);
    // The same error to anyone else, or quoting the guest's own query, is judged by the rules (and dropped).
    expect(f.egress(icmpFrame(A, '198.51.100.66', 3, 3, 0, reply))).toBe(false);
    expect(f.egress(icmpFrame(A, DNS, 3, 3, 0, udpFrame(A, 5000, DNS, 53)))).toBe(false);
    // Padded past 576 bytes: not an error a router makes.
    const big = Buffer.concat([icmpFrame(A, DNS, 3, 3, 0, reply), Buffer.alloc(1000, 0x41)]);
    big.writeUInt16BE(big.length - 14, 16);
    expect(f.egress(big)).toBe(false);
  });

  it('coming in: quoting a packet the guest sent, addressed to the guest', () => {
    const f = setup([group('g', [{ id: 'out', direction: 'egress' }])]);
    const query = udpFrame(A, 5000, DNS, 53);
    expect(f.egress(query)).toBe(true);
    // A router on the way reports the query: passes, whoever the router is.
    expect(f.ingress(icmpFrame('198.51.100.1', A, 11, 0, 0, query))).toBe(true);
    // Quoting the reply direction (a packet the guest never sent): dropped.
    expect(f.ingress(icmpFrame('198.51.100.66', A, 3, 3, 0, udpFrame(DNS, 53, A, 5000)))).toBe(false);
  });
});

describe('a flood of first packets', () => {
  it('an allowed ingress SYN flood neither fills the table for the guest\'s own flows nor evicts answered connections', () => {
    const f = setup([group('g', [{ id: 'web', direction: 'ingress', protocol: 'tcp', portFrom: 80 }, { id: 'out', direction: 'egress' }])]);
    // A client whose connection was answered before the flood.
    expect(f.ingress(tcpFrame(B, 41000, A, 80, TCP_SYN))).toBe(true);
    expect(f.egress(tcpFrame(A, 80, B, 41000, TCP_SYN | TCP_ACK))).toBe(true);
    for (let i = 0; i < 20_000; i++) f.ingress(tcpFrame(`198.51.100.${1 + (i >> 14)}`, 1024 + (i & 0x3fff), A, 80, TCP_SYN));
    expect(f.conntrack.size).toBeLessThanOrEqual(f.connectionsMax - f.connectionsMax / 8);
    // The guest's own new flows still open; the answered connection still passes.
    for (let i = 0; i < 100; i++) expect(f.egress(udpFrame(A, 5000 + i, '10.0.0.53', 53))).toBe(true);
    expect(f.ingress(tcpFrame(B, 41000, A, 80, TCP_ACK))).toBe(true);
    // New SYNs keep being taken (each in place of an unanswered one).
    expect(f.ingress(tcpFrame('198.51.100.200', 9999, A, 80, TCP_SYN))).toBe(true);
    expect(f.conntrack.earlyDrops).toBeGreaterThan(0);
  });
});

describe('a closed TCP connection', () => {
  it('passes nothing either way and is not kept alive; the originator\'s new SYN is judged by the rules', () => {
    const f = setup([group('g', [{ id: 'out', direction: 'egress' }])], { closedMs: 10_000 });
    expect(f.egress(tcpFrame(A, 33333, B, 80, TCP_SYN))).toBe(true);
    expect(f.ingress(tcpFrame(B, 80, A, 33333, TCP_SYN | TCP_ACK))).toBe(true);
    expect(f.egress(tcpFrame(A, 33333, B, 80, TCP_RST))).toBe(true);
    const expires = f.connections()[0]!.expiresInMs;
    // The responder's SYN back to the originator's port, its data, the originator's data: all dropped.
    expect(f.ingress(tcpFrame(B, 80, A, 33333, TCP_SYN))).toBe(false);
    expect(f.ingress(tcpFrame(B, 80, A, 33333, TCP_ACK))).toBe(false);
    expect(f.egress(tcpFrame(A, 33333, B, 80, TCP_ACK))).toBe(false);
    expect(f.connections()[0]!.state).toBe('CLOSED');
    expect(f.connections()[0]!.expiresInMs).toBeLessThanOrEqual(expires);
    // The originator connects again: a new connection through the egress rule.
    expect(f.egress(tcpFrame(A, 33333, B, 80, TCP_SYN))).toBe(true);
    expect(f.connections()[0]!.state).toBe('SYN_SENT');
  });
});

describe('fragments', () => {
  it('a rule change forgets first fragments the old rules allowed', () => {
    const f = setup([group('g', [{ id: 'u', direction: 'ingress', protocol: 'udp', portFrom: 9000 }])]);
    expect(f.ingress(udpFrame('198.51.100.1', 1000, A, 9000, 8, { ipId: 77, moreFragments: true }))).toBe(true);
    const later = () => udpFrame('198.51.100.1', 1000, A, 9000, 8, { ipId: 77, fragOffset: 16, moreFragments: true });
    expect(f.ingress(later())).toBe(true);
    f.update(['g'], [group('g', [])]);
    expect(f.ingress(later())).toBe(false);
  });
});

describe('the host-wide connection budget', () => {
  it('bounds the connections of all VIFs together, counted when reached, given back when a VIF goes', () => {
    const counters = new Counters();
    const log = new SgDropLog(createLogger({ level: 'error', write: () => {} }), counters);
    const budget = sgBudget(300);
    const g = [group('g', [{ id: 'in', direction: 'ingress' }, { id: 'out', direction: 'egress' }])];
    const vifs = [0, 1].map((v) => new VifFilter(`v${v}`, ['g'], g, { counters, log, budget }));
    filters.push(...vifs);
    // Answered flows (early drop cannot take them): 200 on the first VIF, then the second reaches the budget.
    const answered = (f: VifFilter, i: number) => f.egress(udpFrame(A, 1000 + i, B, 53)) && f.ingress(udpFrame(B, 53, A, 1000 + i));
    for (let i = 0; i < 200; i++) expect(answered(vifs[0]!, i)).toBe(true);
    let n = 0;
    for (let i = 0; i < 200; i++) if (answered(vifs[1]!, i)) n++;
    expect(n).toBe(100);
    expect(budget.used).toBe(300);
    expect(counters.get('softudc_sg_host_connections_full_total')).toBe(100);
    // The first VIF goes: its connections come back to the budget.
    vifs[0]!.stop();
    expect(budget.used).toBe(100);
    expect(answered(vifs[1]!, 500)).toBe(true);
  });
});
