import { describe, expect, it } from 'vitest';
import { HOST_1, HOST_2, sampleFarm, VM_1, VM_2 } from './fixtures.ts';
import { countTunnels, tunnelRates, tunnels, UNDERLAY_TX, UNDERLAY_PEER_TX, peerCounter, vmStates, type HostLite, type HostReportView } from './live.ts';

const host = (id: string, name: string, address: string, status: HostLite['status'] = 'online'): HostLite => ({
  id, name, address, status, desiredGeneration: 3, appliedGeneration: 3, segmentId: null, segmentName: null,
});
type Varp = NonNullable<NonNullable<HostReportView['report']>['varp']>;
const report = (hostId: string, vifs: { vnet: number; mac: string }[], varp: Varp = [], status: HostReportView['status'] = 'online'): HostReportView => ({
  hostId, host: hostId, status, lastSeenAt: new Date(0), agentVersion: '1', desiredGeneration: 3, appliedGeneration: 3,
  report: {
    receivedAt: new Date(0), appliedGeneration: 3, uptimeS: 1, health: { status: 'ok', messages: [] }, applyError: null, counters: {},
    vifCount: vifs.length, varpCount: varp.length, varp,
    vifs: vifs.map((v, i) => ({ id: `x/${i}`, vnet: v.vnet, mac: v.mac, ip: '10.0.0.1/24', version: 1, guest: { kind: 'emulated' } })),
  },
});
const HOSTS = [host(HOST_1, 'h1', '127.0.0.2'), host(HOST_2, 'h2', '127.0.0.3')];

describe('vmStates', () => {
  it('is running once the host reports every VIF, pending before', () => {
    const reports = new Map([[HOST_1, report(HOST_1, [{ vnet: 100, mac: '02:00:00:00:00:01' }])]]);
    const s = vmStates([sampleFarm()], HOSTS, reports);
    expect(s.get(VM_1)).toBe('running');
    expect(s.get(VM_2)).toBe('pending');
  });

  it('matches MACs case-insensitively and needs the right vnet', () => {
    const reports = new Map([[HOST_1, report(HOST_1, [{ vnet: 101, mac: '02:00:00:00:00:01' }])]]);
    expect(vmStates([sampleFarm()], HOSTS, reports).get(VM_1)).toBe('pending');
    const upper = new Map([[HOST_1, report(HOST_1, [{ vnet: 100, mac: '02:00:00:00:00:01'.toUpperCase() }])]]);
    expect(vmStates([sampleFarm()], HOSTS, upper).get(VM_1)).toBe('running');
  });

  it('takes liveness from the report stream over the host list', () => {
    const reports = new Map([[HOST_1, report(HOST_1, [{ vnet: 100, mac: '02:00:00:00:00:01' }], [], 'offline')]]);
    expect(vmStates([sampleFarm()], HOSTS, reports).get(VM_1)).toBe('down');
  });

  it('is down on an offline host, unplaced without a host, undeployed before a deploy', () => {
    const farm = sampleFarm();
    const offline = [host(HOST_1, 'h1', '127.0.0.2', 'offline'), HOSTS[1]!];
    expect(vmStates([farm], offline, new Map()).get(VM_1)).toBe('down');
    const unplaced = sampleFarm({ vms: [{ ...farm.vms[0]!, hostId: null, hostName: null }] });
    expect(vmStates([unplaced], HOSTS, new Map()).get(VM_1)).toBe('unplaced');
    expect(vmStates([sampleFarm({ deployedRevision: null })], HOSTS, new Map()).get(VM_1)).toBe('undeployed');
  });
});

describe('tunnels', () => {
  it('joins hosts that carry a common vnet, and marks the ones VARP has seen', () => {
    // web on h1 (front), db on h2 (back), router gw on h1 (front + back): h1–h2 share "back".
    const ts = tunnels([sampleFarm()], HOSTS, new Map());
    expect(ts).toEqual([{ a: HOST_1 < HOST_2 ? HOST_1 : HOST_2, b: HOST_1 < HOST_2 ? HOST_2 : HOST_1, vnets: [101], observed: false }]);
    const seen = new Map([[HOST_2, report(HOST_2, [], [{ vnet: 101, mac: '02:00:00:00:01:02', ip: '10.2.0.1', coa: '127.0.0.2', state: 'REACHABLE', ageMs: 5 }])]]);
    expect(tunnels([sampleFarm()], HOSTS, seen)[0]!.observed).toBe(true);
  });

  it('ignores farms that are not deployed', () => {
    expect(tunnels([sampleFarm({ deployedRevision: null })], HOSTS, new Map())).toEqual([]);
  });

  it('takes per-peer counters, else the host total when it has one tunnel only', () => {
    const [t] = tunnels([sampleFarm()], HOSTS, new Map());
    const byId = new Map(HOSTS.map((h) => [h.id, h]));
    const rates = new Map<string, Record<string, number>>([
      [HOST_1, { [peerCounter(UNDERLAY_PEER_TX, '127.0.0.3')]: 12, [UNDERLAY_TX]: 40 }],
      [HOST_2, { [UNDERLAY_TX]: 9 }],
    ]);
    const r = tunnelRates(t!, byId, rates, countTunnels([t!]));
    const fromH1 = t!.a === HOST_1 ? r.ab : r.ba;
    const fromH2 = t!.a === HOST_2 ? r.ab : r.ba;
    expect(fromH1).toBe(12);
    expect(fromH2).toBe(9);
    expect(tunnelRates(t!, byId, rates, new Map([[HOST_2, 2]]))).toEqual(t!.a === HOST_1 ? { ab: 12, ba: null } : { ab: null, ba: 12 });
  });
});
