import { describe, expect, it } from 'vitest';
import type { AgentStateView } from '../daemon/agent.ts';
import { agentCapabilities } from './enroll.ts';
import { REPORT_MAX_COUNTERS, REPORT_MAX_LEASES, REPORT_MAX_VARP } from '../../contract/limits.ts';
import { reportSchema, reportVifSchema } from '../../contract/report.ts';
import { buildReport } from './report.ts';

function view(over: Partial<AgentStateView> = {}): AgentStateView {
  return {
    host: 'local-1',
    appliedGeneration: 3,
    underlay: { address: '127.0.0.2', port: 1798, multicast: null, joined: false, peers: [], up: true },
    vnets: [],
    vifs: [{ id: 'demo/web-1/eth0', vnet: 9, mac: '02:5d:00:00:00:01', ip: '10.10.0.11/24', guest: 'emulated', device: null, version: 2, status: 'up', error: null }],
    varp: [{ vnet: 9, mac: '02:5d:00:00:00:02', ip: '10.10.0.12', coa: '127.0.0.3', port: 1798, state: 'REACHABLE', version: 1, ageMs: 12, proxy: false }],
    counters: { b: 2, a: 1 },
    ...over,
  };
}

describe('buildReport', () => {
  it('maps the agent view to the report shape', () => {
    const r = buildReport({ view: view(), agentVersion: '0.1.0', uptimeS: 12.4, applyError: null });
    expect(r).toEqual({
      appliedGeneration: 3,
      agentVersion: '0.1.0',
      uptimeS: 12,
      capabilities: agentCapabilities(),
      vifs: [{ id: 'demo/web-1/eth0', vnet: 9, mac: '02:5d:00:00:00:01', ip: '10.10.0.11/24', version: 2, guest: { kind: 'emulated' } }],
      varp: [{ vnet: 9, mac: '02:5d:00:00:00:02', ip: '10.10.0.12', coa: '127.0.0.3', state: 'REACHABLE', ageMs: 12 }],
      counters: { a: 1, b: 2 },
      health: { status: 'ok', messages: [] },
      applyError: null,
    });
  });

  it('sums a filtered VIF\'s security groups (per-rule counts stay with vif.inspect)', () => {
    const drops = (n: number) => ({ no_rule: n, ethertype: 1, malformed: 0, invalid: 0, fragment: 0, conntrack_full: 0 });
    const sg = {
      groups: ['g1', 'g2'],
      rules: [
        { group: 'g1', rule: 'a', direction: 'egress' as const, protocol: 'any' as const, ports: null, icmpType: null, icmpCode: null, remotes: 1, hits: 3 },
        { group: 'g2', rule: 'b', direction: 'ingress' as const, protocol: 'tcp' as const, ports: '22', icmpType: null, icmpCode: null, remotes: 2, hits: 4 },
      ],
      connections: 5,
      connectionsMax: 16_384,
      drops: { ingress: drops(7), egress: drops(2) },
    };
    const r = buildReport({ view: view({ vifs: [{ ...view().vifs[0]!, securityGroups: sg }, { ...view().vifs[0]!, id: 'open' }] }), agentVersion: '0.1.0', uptimeS: 1, applyError: null });
    expect(reportSchema.parse(r).vifs.map((v) => v.securityGroups)).toEqual([{ groups: ['g1', 'g2'], ruleHits: 7, connections: 5, dropped: { ingress: 8, egress: 3 } }, undefined]);
  });

  it('names the TAP (and its namespace) behind a TAP guest', () => {
    const tap = view({ vifs: [{ ...view().vifs[0]!, guest: 'tap', device: { ifname: 'sut-web1', netns: 'web1' } }, { ...view().vifs[0]!, id: 'vm/eth0', guest: 'tap', device: { ifname: 'vm-eth0', netns: null } }] });
    const r = buildReport({ view: tap, agentVersion: '0.1.0', uptimeS: 1, applyError: null });
    expect(r.vifs.map((v) => v.guest)).toEqual([{ kind: 'tap', ifname: 'sut-web1', netns: 'web1' }, { kind: 'tap', ifname: 'vm-eth0', netns: null }]);
  });

  it('says which path carries each VIF, and validates against the report contract', () => {
    const paths = view({ vifs: [{ ...view().vifs[0]!, path: { path: 'kernel', reason: null } }, { ...view().vifs[0]!, id: 'db/eth0', path: { path: 'userspace', reason: 'vnet sealed' } }, { ...view().vifs[0]!, id: 'old/eth0' }] });
    const r = buildReport({ view: paths, agentVersion: '0.1.0', uptimeS: 1, applyError: null });
    expect(r.vifs.map((v) => v.path)).toEqual([{ path: 'kernel', reason: null }, { path: 'userspace', reason: 'vnet sealed' }, undefined]);
    expect(reportVifSchema.array().parse(r.vifs)).toHaveLength(3);
  });

  it('says where a live migration\'s VIFs stand, incoming and let go, in the contract\'s shape', () => {
    const vif = view().vifs[0]!;
    const v = view({ vifs: [{ ...vif, migration: { state: 'incoming', activatedAt: null } }, { ...vif, id: 'b/eth0', migration: { state: 'active', activatedAt: 1_700_000_000_000 } }, { ...vif, id: 'c/eth0', movedTo: 3 }] });
    const r = buildReport({ view: v, agentVersion: '0.1.0', uptimeS: 1, applyError: null });
    expect(r.vifs.map((x) => x.migration)).toEqual([{ state: 'incoming', activatedAt: null }, { state: 'active', activatedAt: 1_700_000_000_000 }, undefined]);
    // The source's VIF let go on the destination's announcement: the console refuses to cancel that move.
    expect(r.vifs.map((x) => x.movedTo)).toEqual([undefined, undefined, 3]);
    expect(reportVifSchema.array().parse(r.vifs)).toHaveLength(3);
    expect(() => reportVifSchema.parse({ ...r.vifs[0], migration: { state: 'elsewhere', activatedAt: null } })).toThrow();
  });

  it('is degraded, naming the cause, when a VIF is down or a state was rejected', () => {
    const down = view({ vifs: [{ ...view().vifs[0]!, status: 'error', error: 'TAP needs root' }] });
    const r = buildReport({ view: down, agentVersion: '0.1.0', uptimeS: 1, applyError: { generation: 4, message: 'vifs[0].mac: bad' } });
    expect(r.health.status).toBe('degraded');
    expect(r.health.messages).toEqual(['generation 4 not applied: vifs[0].mac: bad', 'VIF demo/web-1/eth0: TAP needs root']);
    expect(r.applyError).toEqual({ generation: 4, message: 'vifs[0].mac: bad' });
  });

  it('reports generation 0 before anything was applied', () => {
    expect(buildReport({ view: null, agentVersion: '0.1.0', uptimeS: 0, applyError: null })).toMatchObject({ appliedGeneration: 0, vifs: [], varp: [] });
  });

  it('stays within the console limits and says what it left out', () => {
    const entry = view().varp[0]!;
    const big = view({
      varp: Array.from({ length: REPORT_MAX_VARP + 5 }, () => entry),
      counters: Object.fromEntries(Array.from({ length: REPORT_MAX_COUNTERS + 1 }, (_, i) => [`c${String(i).padStart(5, '0')}`, i])),
    });
    const r = buildReport({ view: big, agentVersion: '0.1.0', uptimeS: 0, applyError: null });
    expect(r.varp).toHaveLength(REPORT_MAX_VARP);
    expect(Object.keys(r.counters)).toHaveLength(REPORT_MAX_COUNTERS);
    expect(r.health.status).toBe('ok');
    expect(r.health.messages).toEqual([
      `report lists ${REPORT_MAX_VARP} of ${REPORT_MAX_VARP + 5} VARP entries`,
      `report lists ${REPORT_MAX_COUNTERS} of ${REPORT_MAX_COUNTERS + 1} counters`,
    ]);
  });

  it('carries DHCP leases (the newest, up to the limit) and DHCP/DNS counts per vnet, in the contract\'s shape', () => {
    const lease = { vif: 'demo/web-1/eth0', vnet: 9, mac: '02:5d:00:00:00:01', ip: '10.10.0.11', hostName: 'web-1', ackedAt: 1_700_000_000_000.4, leaseTime: 3600 };
    const counts = { vnet: 9, resolver: '10.10.0.254', leases: REPORT_MAX_LEASES + 2, dhcpReplies: 4, dhcpDrops: 1, dnsAnswers: 7, dnsForwarded: 2, dnsDrops: 3 };
    const r = buildReport({ view: view({ services: { vnets: [counts], leases: Array.from({ length: REPORT_MAX_LEASES + 2 }, () => lease) } }), agentVersion: '0.1.0', uptimeS: 0, applyError: null });
    expect(r.services?.vnets).toEqual([counts]);
    expect(r.services?.leases).toHaveLength(REPORT_MAX_LEASES);
    expect(r.services?.leases[0]).toEqual({ ...lease, ackedAt: 1_700_000_000_000 });
    expect(r.health.messages).toEqual([`report lists the newest ${REPORT_MAX_LEASES} of ${REPORT_MAX_LEASES + 2} DHCP leases`]);
    expect(reportSchema.safeParse(r).success).toBe(true);
    expect(buildReport({ view: view(), agentVersion: '0.1.0', uptimeS: 0, applyError: null }).services).toBeUndefined();
  });
});
