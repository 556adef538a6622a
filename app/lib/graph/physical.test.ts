import { describe, expect, it } from 'vitest';
import { isEdge, isNode } from './elements.ts';
import { HOST_1, HOST_2, sampleFarm, VM_1, VM_2 } from './fixtures.ts';
import type { HostLite } from './live.ts';
import { hostAt, hostNodeId, physicalElements, placedVms, segmentNodeId, vmNodeId } from './physical.ts';

const hosts: HostLite[] = [
  { id: HOST_1, name: 'h1', address: '127.0.0.2', status: 'online', desiredGeneration: 1, appliedGeneration: 1, segmentId: 's1', segmentName: 'lab' },
  { id: HOST_2, name: 'h2', address: '127.0.0.3', status: 'offline', desiredGeneration: 1, appliedGeneration: 0, segmentId: null, segmentName: null },
];

describe('physicalElements', () => {
  it('nests VMs in their hosts and hosts in their LAN segments', () => {
    const vms = placedVms([sampleFarm()], new Map([[VM_1, 'running']]));
    const els = physicalElements({ hosts, vms, tunnels: [{ a: HOST_1, b: HOST_2, vnets: [101], observed: true }], rates: new Map() });
    const parent = (id: string) => els.find((e) => e.data.id === id)?.data.parent;
    expect(parent(vmNodeId(VM_1))).toBe(hostNodeId(HOST_1));
    expect(parent(vmNodeId(VM_2))).toBe(hostNodeId(HOST_2));
    expect(parent(hostNodeId(HOST_1))).toBe(segmentNodeId('s1'));
    expect(parent(hostNodeId(HOST_2))).toBe(segmentNodeId(null));
    expect(els.find((e) => e.data.id === vmNodeId(VM_1))?.classes).toBe('vm running');
    expect(els.find((e) => e.data.id === vmNodeId(VM_2))?.classes).toBe('vm undeployed');
    expect(els.find((e) => e.data.id === hostNodeId(HOST_2))?.classes).toBe('host offline');
    const tunnel = els.filter(isEdge);
    expect(tunnel).toHaveLength(1);
    expect(tunnel[0]!.classes).toBe('tunnel observed');
  });

  it('labels tunnels with packet rates when counters allow', () => {
    const t = { a: HOST_1, b: HOST_2, vnets: [101], observed: false };
    const rates = new Map([[HOST_1, { softudc_underlay_tx_datagrams_total: 12.5 }], [HOST_2, { softudc_underlay_tx_datagrams_total: 3 }]]);
    const els = physicalElements({ hosts, vms: [], tunnels: [t], rates });
    expect(els.filter(isEdge)[0]!.data.label).toBe('13 ⇄ 3 pkt/s');
  });

  it('places leaves on a fixed grid: the same input gives the same picture', () => {
    const vms = placedVms([sampleFarm(), sampleFarm({ id: 'f2', name: 'other' })], new Map());
    const a = physicalElements({ hosts, vms, tunnels: [], rates: new Map() });
    const b = physicalElements({ hosts: [...hosts].reverse(), vms: [...vms].reverse(), tunnels: [], rates: new Map() });
    const positions = (els: typeof a) => Object.fromEntries(els.filter(isNode).map((n) => [n.data.id, n.position ?? null]));
    expect(positions(a)).toEqual(positions(b));
    // VMs never share a spot.
    const spots = a.filter(isNode).filter((n) => n.position).map((n) => `${n.position!.x},${n.position!.y}`);
    expect(new Set(spots).size).toBe(spots.length);
  });
});

describe('physical layout', () => {
  it('spreads a segment’s hosts on a grid and shows their underlay packet rates', () => {
    const three: HostLite[] = ['h1', 'h2', 'h3'].map((name, i) => ({
      id: `id-${name}`, name, address: `127.0.0.${i + 2}`, status: 'online', desiredGeneration: 1, appliedGeneration: 1, segmentId: 's', segmentName: 'lab',
    }));
    const rates = new Map([['id-h1', { softudc_underlay_tx_datagrams_total: 12, softudc_underlay_rx_datagrams_total: 3.5 }]]);
    const els = physicalElements({ hosts: three, vms: [], tunnels: [], rates });
    const pos = (id: string) => els.filter(isNode).find((n) => n.data.id === hostNodeId(id))!.position!;
    // Two columns for three hosts: h1 and h2 side by side, h3 under h1, so no tunnel crosses a host.
    expect(pos('id-h1').y).toBe(pos('id-h2').y);
    expect(pos('id-h3').x).toBe(pos('id-h1').x);
    expect(pos('id-h3').y).toBeGreaterThan(pos('id-h1').y);
    expect(els.find((e) => e.data.id === hostNodeId('id-h1'))?.data.label).toBe('h1 (127.0.0.2) · ↑12 ↓3.5 pkt/s');
    expect(els.find((e) => e.data.id === hostNodeId('id-h2'))?.data.label).toBe('h2 (127.0.0.3)');
  });
});

describe('hostAt', () => {
  const boxes = new Map([
    ['big', { x1: 0, y1: 0, x2: 100, y2: 100 }],
    ['small', { x1: 10, y1: 10, x2: 30, y2: 30 }],
  ]);
  it('finds the smallest box under the point, skipping the VM’s own host', () => {
    expect(hostAt({ x: 20, y: 20 }, boxes)).toBe('small');
    expect(hostAt({ x: 20, y: 20 }, boxes, 'small')).toBe('big');
    expect(hostAt({ x: 50, y: 50 }, boxes)).toBe('big');
    expect(hostAt({ x: 500, y: 50 }, boxes)).toBeNull();
  });
});
