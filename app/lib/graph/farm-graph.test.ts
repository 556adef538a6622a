import { describe, expect, it } from 'vitest';
import { isEdge, isNode } from './elements.ts';
import { defaultPosition, externalNodeId, farmElements, findInFarm } from './farm-graph.ts';
import { FIREWALL, ROUTER, sampleFarm, VM_1, VM_2, VNET_A, VNET_B } from './fixtures.ts';

describe('farmElements', () => {
  it('draws every object as a node and every attachment as an edge', () => {
    const els = farmElements(sampleFarm());
    expect(els.filter(isNode).map((n) => `${n.data.kind}:${n.data.name}`).sort()).toEqual(
      ['firewall:fw', 'router:gw', 'vm:db', 'vm:web', 'vnet:back', 'vnet:front'],
    );
    const edges = els.filter(isEdge).map((e) => [e.data.kind, e.data.source, e.data.target, e.data.label]);
    expect(edges).toEqual([
      ['vif', VM_1, VNET_A, '10.1.0.10'],
      ['vif', VM_2, VNET_B, '10.2.0.10'],
      ['routerInterface', ROUTER, VNET_A, '10.1.0.1/24'],
      ['routerInterface', ROUTER, VNET_B, '10.2.0.1/24'],
      ['firewallInterface', FIREWALL, VNET_A, 'eth0 10.1.0.2'],
    ]);
  });

  it('uses saved positions and a per-kind grid for the rest', () => {
    const els = farmElements(sampleFarm(), { positions: { [VM_1]: { x: 5, y: 6 } } });
    const pos = (id: string) => els.filter(isNode).find((e) => e.data.id === id)?.position;
    expect(pos(VM_1)).toEqual({ x: 5, y: 6 });
    expect(pos(VM_2)).toEqual(defaultPosition('vm', 1));
    expect(defaultPosition('router', 0)).not.toEqual(defaultPosition('firewall', 0));
  });

  it('puts VM states into classes for the live view', () => {
    const els = farmElements(sampleFarm(), { vmStates: new Map([[VM_1, 'running'], [VM_2, 'down']]) });
    expect(els.find((e) => e.data.id === VM_1)?.classes).toBe('vm running');
    expect(els.find((e) => e.data.id === VM_2)?.classes).toBe('vm down');
  });

  it('finds the object behind an element id', () => {
    const farm = sampleFarm();
    expect(findInFarm(farm, 'vif-2')).toMatchObject({ kind: 'vif', vm: { id: VM_2 } });
    expect(findInFarm(farm, 'rif-b')).toMatchObject({ kind: 'routerInterface', router: { id: ROUTER } });
    expect(findInFarm(farm, 'fif-a')).toMatchObject({ kind: 'firewallInterface', firewall: { id: FIREWALL } });
    expect(findInFarm(farm, VNET_B)?.kind).toBe('vnet');
    expect(findInFarm(farm, 'nope')).toBeNull();
  });

  it('draws an external network a router or firewall has a leg on as one node, each leg as an edge to it', () => {
    const NET = '00000000-0000-4000-8000-0000000000e1';
    const leg = (id: string, node: { routerId: string | null; firewallId: string | null }, ip: string, nat: number) => ({
      id, farmId: 'f', externalNetworkId: NET, networkName: 'uplink', ...node, ip, prefixLen: 24, gateway: '198.51.100.1',
      mac: '02:5d:00:00:00:e1', snat: ['10.1.0.0/24'],
      floatingIps: Array.from({ length: nat }, (_, i) => ({ id: `fip-${i}`, legId: id, ip: `198.51.100.${20 + i}`, vifId: 'vif-1' })),
      portForwards: [],
    });
    const farm = sampleFarm({ externalLegs: [leg('leg-r', { routerId: ROUTER, firewallId: null }, '198.51.100.10', 2), leg('leg-f', { routerId: null, firewallId: FIREWALL }, '198.51.100.11', 0)] });
    const els = farmElements(farm, { positions: { [externalNodeId(NET)]: { x: 1, y: 2 } } });
    const ext = els.filter(isNode).filter((n) => n.data.kind === 'externalNetwork');
    expect(ext.map((n) => [n.data.id, n.data.label, n.position])).toEqual([[`ext:${NET}`, 'uplink\n(external)', { x: 1, y: 2 }]]);
    const legs = els.filter(isEdge).filter((e) => e.data.kind === 'externalLeg').map((e) => [e.data.source, e.data.target, e.data.label]);
    expect(legs).toEqual([[ROUTER, `ext:${NET}`, '198.51.100.10 · 2 NAT'], [FIREWALL, `ext:${NET}`, '198.51.100.11']]);
    expect(findInFarm(farm, 'leg-r')).toMatchObject({ kind: 'externalLeg', item: { routerId: ROUTER } });
    // Not placed yet: below the first router with a leg on it.
    const router = farmElements(farm).filter(isNode).find((n) => n.data.id === ROUTER)!.position!;
    expect(farmElements(farm).filter(isNode).find((n) => n.data.kind === 'externalNetwork')!.position).toEqual({ x: router.x, y: router.y + 200 });
    // The network node is the deployment's, not the farm's: nothing to select there.
    expect(findInFarm(farm, `ext:${NET}`)).toBeNull();
  });
});
