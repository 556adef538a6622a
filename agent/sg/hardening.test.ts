// The filter against abuse of its state: connections revoked by a rule
// change (tombstones), ICMP errors checked against the flow they quote,
// closed TCP connections, fragments held across a rule change.
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { createLogger } from '../log.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../firewall/flow.ts';
import { securityGroupSchema, type SecurityGroupSpec } from '../../contract/securityGroups.ts';
import { VifFilter } from './filter.ts';
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
