import { describe, expect, it } from 'vitest';
import { tracePath } from './trace-path.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';

const farm = {
  vnets: [{ id: 'vn-a', vnid: 101 }, { id: 'vn-b', vnid: 102 }],
  vms: [
    { id: 'vm-1', vifs: [{ id: 'vif-1', vnetId: 'vn-a' }] },
    { id: 'vm-2', vifs: [{ id: 'vif-2', vnetId: 'vn-b' }] },
  ],
  routers: [],
  firewalls: [{ id: 'fw', interfaces: [{ id: 'if-a', vnetId: 'vn-a' }, { id: 'if-b', vnetId: 'vn-b' }] }],
} as unknown as FarmDetail;

describe('tracePath', () => {
  it('maps hops to drawing elements and adds the edges between them', () => {
    const hops = [
      { step: 'port-security', verdict: 'pass' as const, node: { kind: 'vif', id: 'vif-1', name: 'vm-1/eth0' } },
      { step: 'switch', verdict: 'pass' as const, node: { kind: 'vnet', id: '101', name: 'a' } },
      { step: 'firewall', verdict: 'drop' as const, node: { kind: 'firewall', id: 'fw', name: 'fw' } },
    ];
    const p = tracePath(farm, hops);
    expect(p.path).toEqual(['vm-1', 'vif-1', 'vn-a', 'fw', 'if-a']);
    expect(p.failed).toEqual(['fw']);
  });

  it('has no failed elements for a delivered flow', () => {
    const p = tracePath(farm, [{ step: 'deliver', verdict: 'deliver', node: { kind: 'vif', id: 'vif-2', name: 'x' } }]);
    expect(p).toEqual({ path: ['vm-2', 'vif-2'], failed: [] });
  });
});
