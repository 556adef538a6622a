import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { createLogger } from '../log.ts';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../firewall/flow.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_VLAN } from '../wire/index.ts';
import { securityGroupSchema, type SecurityGroupSpec } from '../../contract/securityGroups.ts';
import { VifFilter } from './filter.ts';
import { SgDropLog } from './log.ts';
import { arpFrame, etherFrame, icmpFrame, tcpFrame, udpFrame } from './testing.ts';
import type { ConntrackTimeouts } from '../firewall/conntrack.ts';

const G = '10.0.0.5'; // the guest behind the VIF
const filters: VifFilter[] = [];
afterEach(() => {
  for (const f of filters.splice(0)) f.stop();
});

type RuleIn = Record<string, unknown> & { id: string; direction: 'ingress' | 'egress' };
const group = (id: string, rules: RuleIn[]): SecurityGroupSpec => securityGroupSchema.parse({ id, rules });

function setup(groups: SecurityGroupSpec[], ids = groups.map((g) => g.id), conntrack?: Partial<ConntrackTimeouts>) {
  const counters = new Counters();
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const f = new VifFilter('vm/eth0', ids, groups, { counters, log: new SgDropLog(logger, counters), conntrack });
  filters.push(f);
  const hits = (rule: string) => f.hits().find((h) => h.rule === rule)?.hits;
  const drops = (direction: string, reason: string) => counters.get(`softudc_sg_drops_total{direction="${direction}",reason="${reason}"}`);
  return { f, counters, lines, hits, drops };
}

describe('security group rules: what a new flow matches', () => {
  it('TCP and UDP port ranges, a single port, and `any`', () => {
    const { f, hits } = setup([
      group('web', [
        { id: 'http', direction: 'ingress', protocol: 'tcp', portFrom: 80, portTo: 81 },
        { id: 'dns', direction: 'ingress', protocol: 'udp', portFrom: 53 },
      ]),
      group('mgmt', [{ id: 'all', direction: 'ingress', protocol: 'any', remote: ['192.0.2.7/32'] }]),
    ]);
    expect(f.ingress(tcpFrame('10.9.0.1', 4000, G, 80, TCP_SYN))).toBe(true);
    expect(f.ingress(tcpFrame('10.9.0.1', 4001, G, 81, TCP_SYN))).toBe(true);
    expect(f.ingress(tcpFrame('10.9.0.1', 4002, G, 82, TCP_SYN))).toBe(false);
    expect(f.ingress(tcpFrame('10.9.0.1', 4003, G, 79, TCP_SYN))).toBe(false);
    expect(f.ingress(udpFrame('10.9.0.1', 4000, G, 53))).toBe(true);
    expect(f.ingress(udpFrame('10.9.0.1', 4000, G, 54))).toBe(false);
    // TCP 53 is not UDP 53.
    expect(f.ingress(tcpFrame('10.9.0.1', 4004, G, 53, TCP_SYN))).toBe(false);
    // `any` from one host: every protocol and port, from that host only.
    expect(f.ingress(tcpFrame('192.0.2.7', 4000, G, 22, TCP_SYN))).toBe(true);
    expect(f.ingress(udpFrame('192.0.2.7', 4000, G, 9999))).toBe(true);
    expect(f.ingress(icmpFrame('192.0.2.7', G, 8, 0, 77))).toBe(true);
    expect(f.ingress(icmpFrame('192.0.2.8', G, 8, 0, 78))).toBe(false);
    expect(hits('http')).toBe(2);
    expect(hits('dns')).toBe(1);
    expect(hits('all')).toBe(3);
  });

  it('ICMP type and code, and remote CIDRs (prefixes, hosts, several, none)', () => {
    const { f } = setup([
      group('g', [
        { id: 'echo', direction: 'ingress', protocol: 'icmp', icmpType: 8, remote: ['10.1.0.0/16', '172.16.5.5/32'] },
        { id: 'frag-needed', direction: 'ingress', protocol: 'icmp', icmpType: 3, icmpCode: 4 },
        { id: 'empty-group', direction: 'ingress', protocol: 'tcp', portFrom: 22, remote: [] },
      ]),
    ]);
    expect(f.ingress(icmpFrame('10.1.200.3', G, 8, 0, 1))).toBe(true);
    expect(f.ingress(icmpFrame('172.16.5.5', G, 8, 0, 2))).toBe(true);
    expect(f.ingress(icmpFrame('172.16.5.6', G, 8, 0, 3))).toBe(false);
    expect(f.ingress(icmpFrame('10.2.0.1', G, 8, 0, 4))).toBe(false);
    // Timestamp (13) is not echo.
    expect(f.ingress(icmpFrame('10.1.0.1', G, 13, 0, 5))).toBe(false);
    expect(f.ingress(icmpFrame('198.51.100.1', G, 3, 4))).toBe(true);
    expect(f.ingress(icmpFrame('198.51.100.1', G, 3, 1))).toBe(false);
    // A remote group without members allows nothing.
    expect(f.ingress(tcpFrame('10.1.0.1', 5000, G, 22, TCP_SYN))).toBe(false);
  });

  it('a VIF in no group (an empty list) passes only ARP; other EtherTypes are dropped and counted', () => {
    const { f, drops } = setup([], []);
    expect(f.ingress(arpFrame())).toBe(true);
    expect(f.egress(arpFrame())).toBe(true);
    expect(f.egress(udpFrame(G, 68, '10.0.0.1', 67))).toBe(false);
    expect(f.egress(etherFrame(0x86dd))).toBe(false);
    expect(f.ingress(etherFrame(ETHERTYPE_VLAN))).toBe(false);
    expect(f.ingress(etherFrame(ETHERTYPE_IPV4, 20))).toBe(false); // shorter than an IPv4 header
    expect(drops('egress', 'no_rule')).toBe(1);
    expect(drops('egress', 'ethertype')).toBe(1);
    expect(drops('ingress', 'ethertype')).toBe(1);
    expect(drops('ingress', 'malformed')).toBe(1);
    expect(f.view().drops.egress.ethertype).toBe(1);
  });
});

describe('security groups are stateful', () => {
  const egressOnly = () => [group('out', [{ id: 'egress-all', direction: 'egress' }])];

  it('replies of an allowed connection pass the other way; the same packets unsolicited do not', () => {
    const { f, hits, drops } = setup(egressOnly());
    // TCP: SYN out, SYN-ACK in, data both ways, FINs.
    expect(f.egress(tcpFrame(G, 40000, '10.2.0.9', 5432, TCP_SYN))).toBe(true);
    expect(f.ingress(tcpFrame('10.2.0.9', 5432, G, 40000, TCP_SYN | TCP_ACK))).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect(f.egress(tcpFrame(G, 40000, '10.2.0.9', 5432, TCP_ACK, 100))).toBe(true);
      expect(f.ingress(tcpFrame('10.2.0.9', 5432, G, 40000, TCP_ACK, 100))).toBe(true);
    }
    expect(f.connections()[0]).toMatchObject({ protocol: 'tcp', state: 'ESTABLISHED', direction: 'egress', group: 'out', rule: 'egress-all', from: `${G}:40000` });
    // UDP and ICMP echo.
    expect(f.egress(udpFrame(G, 5353, '10.3.0.1', 53))).toBe(true);
    expect(f.ingress(udpFrame('10.3.0.1', 53, G, 5353))).toBe(true);
    expect(f.egress(icmpFrame(G, '10.3.0.1', 8, 0, 99))).toBe(true);
    expect(f.ingress(icmpFrame('10.3.0.1', G, 0, 0, 99))).toBe(true);
    // Only the first packet of each flow consulted the rules.
    expect(hits('egress-all')).toBe(3);
    // Nothing opened from outside: a new SYN, an unrelated UDP answer, an echo reply of another id.
    expect(f.ingress(tcpFrame('10.2.0.9', 5432, G, 40001, TCP_SYN))).toBe(false);
    expect(f.ingress(udpFrame('10.3.0.1', 53, G, 5354))).toBe(false);
    expect(f.ingress(icmpFrame('10.3.0.1', G, 0, 0, 100))).toBe(false);
    expect(drops('ingress', 'no_rule')).toBe(3);
  });

  it('an ingress rule opens connections whose replies leave without an egress rule', () => {
    const { f, drops } = setup([group('db', [{ id: 'pg', direction: 'ingress', protocol: 'tcp', portFrom: 5432, remote: ['10.2.0.0/24'] }])]);
    expect(f.ingress(tcpFrame('10.2.0.9', 41000, G, 5432, TCP_SYN))).toBe(true);
    expect(f.egress(tcpFrame(G, 5432, '10.2.0.9', 41000, TCP_SYN | TCP_ACK))).toBe(true);
    expect(f.ingress(tcpFrame('10.2.0.9', 41000, G, 5432, TCP_ACK))).toBe(true);
    // The guest itself may not open anything.
    expect(f.egress(tcpFrame(G, 41001, '10.2.0.9', 22, TCP_SYN))).toBe(false);
    expect(drops('egress', 'no_rule')).toBe(1);
    // The responder must answer the SYN before sending anything else.
    expect(f.ingress(tcpFrame('10.2.0.10', 41002, G, 5432, TCP_SYN))).toBe(true);
    expect(f.egress(tcpFrame(G, 5432, '10.2.0.10', 41002, TCP_ACK, 10))).toBe(false);
    expect(drops('egress', 'invalid')).toBe(1);
  });

  it('takes up a TCP stream it never saw begin when the rules allow it (a guest that moved here)', () => {
    const { f } = setup([group('web', [{ id: 'http', direction: 'ingress', protocol: 'tcp', portFrom: 80 }])]);
    expect(f.ingress(tcpFrame('10.9.0.1', 50000, G, 80, TCP_ACK, 100))).toBe(true);
    expect(f.egress(tcpFrame(G, 80, '10.9.0.1', 50000, TCP_ACK, 100))).toBe(true);
    expect(f.connections()[0]).toMatchObject({ state: 'ESTABLISHED', direction: 'ingress' });
    // Mid-stream to a port no rule allows: dropped.
    expect(f.ingress(tcpFrame('10.9.0.1', 50001, G, 81, TCP_ACK, 100))).toBe(false);
  });

  it('an ICMP error about a tracked connection passes; one about nothing is judged by the rules', () => {
    const { f } = setup([group('out', [{ id: 'e', direction: 'egress' }])]);
    const probe = udpFrame(G, 33000, '10.4.0.1', 33434);
    expect(f.egress(probe)).toBe(true);
    expect(f.ingress(icmpFrame('10.4.0.1', G, 3, 3, 0, probe))).toBe(true);
    expect(f.ingress(icmpFrame('10.4.0.1', G, 3, 3, 0, udpFrame(G, 33001, '10.4.0.1', 33434)))).toBe(false);
  });

  it('later fragments follow an allowed first fragment and nothing else', () => {
    const { f, drops } = setup([group('g', [{ id: 'u', direction: 'ingress', protocol: 'udp', portFrom: 4789 }])]);
    expect(f.ingress(udpFrame('10.5.0.1', 1000, G, 4789, 1400, { ipId: 7, moreFragments: true }))).toBe(true);
    expect(f.ingress(udpFrame('10.5.0.1', 1000, G, 4789, 100, { ipId: 7, fragOffset: 1408 }))).toBe(true);
    expect(f.ingress(udpFrame('10.5.0.1', 1000, G, 4789, 100, { ipId: 8, fragOffset: 1408 }))).toBe(false);
    expect(drops('ingress', 'fragment')).toBe(1);
  });

  it('a table full of answered connections drops new flows (counted) while open connections go on', () => {
    const { f, drops } = setup(egressOnly(), undefined, { maxConnections: 2 });
    expect(f.egress(udpFrame(G, 1, '10.6.0.1', 53))).toBe(true);
    expect(f.egress(udpFrame(G, 2, '10.6.0.1', 53))).toBe(true);
    expect(f.ingress(udpFrame('10.6.0.1', 53, G, 2))).toBe(true);
    // Full: the new flow takes the place of the unanswered one (early drop).
    expect(f.egress(udpFrame(G, 3, '10.6.0.1', 53))).toBe(true);
    expect(f.ingress(udpFrame('10.6.0.1', 53, G, 3))).toBe(true);
    expect(f.egress(udpFrame(G, 4, '10.6.0.1', 53))).toBe(false);
    expect(drops('egress', 'conntrack_full')).toBe(1);
    expect(f.ingress(udpFrame('10.6.0.1', 53, G, 2))).toBe(true);
    expect(f.view()).toMatchObject({ connections: 2, connectionsMax: 2 });
  });

  it('a connection the table let go is not kept alive by the one the stream used last', () => {
    const { f, drops } = setup([group('in', [{ id: 'u', direction: 'ingress', protocol: 'udp', portFrom: 53 }])]);
    expect(f.ingress(udpFrame('10.6.0.1', 1000, G, 53))).toBe(true);
    expect(f.egress(udpFrame(G, 53, '10.6.0.1', 1000))).toBe(true);
    // The sweep closes it (here: as if it had expired); the guest's next answer is a new flow, and egress allows none.
    f.conntrack.sweep(Date.now(), () => true);
    expect(f.egress(udpFrame(G, 53, '10.6.0.1', 1000))).toBe(false);
    expect(drops('egress', 'no_rule')).toBe(1);
  });

  it('a closed TCP connection is opened again by a new SYN through the rules', () => {
    const { f, hits } = setup(egressOnly());
    expect(f.egress(tcpFrame(G, 40000, '10.2.0.9', 80, TCP_SYN))).toBe(true);
    expect(f.ingress(tcpFrame('10.2.0.9', 80, G, 40000, TCP_SYN | TCP_ACK))).toBe(true);
    expect(f.egress(tcpFrame(G, 40000, '10.2.0.9', 80, TCP_FIN | TCP_ACK))).toBe(true);
    expect(f.ingress(tcpFrame('10.2.0.9', 80, G, 40000, TCP_FIN | TCP_ACK))).toBe(true);
    expect(f.egress(tcpFrame(G, 40000, '10.2.0.9', 80, TCP_SYN))).toBe(true);
    expect(hits('egress-all')).toBe(2);
  });
});

describe('a new state for the groups', () => {
  it('keeps the connections it still allows and their rules\' counts, and closes the others', () => {
    const rules = (remote: string[]): SecurityGroupSpec[] => [
      group('app', [
        { id: 'dns', direction: 'egress', protocol: 'udp', portFrom: 53, remote },
        { id: 'ntp', direction: 'egress', protocol: 'udp', portFrom: 123 },
      ]),
    ];
    const { f, hits, drops } = setup(rules(['10.7.0.0/24']));
    expect(f.egress(udpFrame(G, 1000, '10.7.0.1', 53))).toBe(true);
    expect(f.egress(udpFrame(G, 1001, '10.8.0.1', 123))).toBe(true);
    expect(f.egress(udpFrame(G, 1002, '10.8.0.1', 53))).toBe(false);
    expect(f.update(['app'], rules(['10.7.0.0/24']))).toBe(false); // the same state: nothing to do
    expect(f.update(['app'], rules(['10.8.0.0/24']))).toBe(true);
    // DNS to 10.7.0.1 is no longer allowed: its connection went, its reply is dropped.
    expect(f.ingress(udpFrame('10.7.0.1', 53, G, 1000))).toBe(false);
    // NTP is untouched, its connection too.
    expect(f.ingress(udpFrame('10.8.0.1', 123, G, 1001))).toBe(true);
    // What was refused now passes; the rule kept its count.
    expect(f.egress(udpFrame(G, 1002, '10.8.0.1', 53))).toBe(true);
    expect(hits('dns')).toBe(2);
    expect(hits('ntp')).toBe(1);
    expect(drops('ingress', 'no_rule')).toBe(1);
    // Leaving the group: everything dropped, counts of its rules gone.
    f.update([], rules(['10.8.0.0/24']));
    expect(f.ingress(udpFrame('10.8.0.1', 123, G, 1001))).toBe(false);
    expect(f.hits()).toEqual([]);
  });

  it('logs drops under a host bucket and a smaller one per VIF, and counts what they suppressed', () => {
    const { f, lines, counters } = setup([], []);
    const log = new SgDropLog(createLogger({ level: 'debug', write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), counters);
    const others = ['vm2/eth0', 'vm3/eth0'].map((id) => new VifFilter(id, [], [], { counters, log }));
    filters.push(...others);
    // One noisy VIF gets its burst (5) of the host's 20, the rest suppressed.
    for (let i = 0; i < 30; i++) f.ingress(tcpFrame('10.9.0.1', 1000 + i, G, 22, TCP_SYN));
    const logged = () => lines.filter((l) => l.msg === 'security groups dropped a packet');
    expect(logged().length).toBe(5);
    expect(logged()[0]).toMatchObject({ vif: 'vm/eth0', direction: 'ingress', reason: 'no_rule', protocol: 'tcp', src: '10.9.0.1', dstPort: 22 });
    expect(counters.get('softudc_sg_drop_logs_suppressed_total')).toBe(25);
    // Two VIFs sharing one host log, flooding in turn: each gets its own burst, neither takes all the lines.
    for (let i = 0; i < 30; i++) for (const o of others) o.ingress(tcpFrame('10.9.0.1', 1000 + i, G, 22, TCP_SYN));
    expect(logged().filter((l) => l.vif === 'vm2/eth0').length).toBe(5);
    expect(logged().filter((l) => l.vif === 'vm3/eth0').length).toBe(5);
  });
});
