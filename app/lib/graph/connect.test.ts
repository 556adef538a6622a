import { describe, expect, it } from 'vitest';
import { connectionFor } from './connect.ts';
import { nextInterfaceName, nextName, suggestCidr } from './names.ts';

describe('connectionFor', () => {
  const vm = { id: 'm', kind: 'vm' } as const;
  const vnet = { id: 'n', kind: 'vnet' } as const;
  const router = { id: 'r', kind: 'router' } as const;
  const router2 = { id: 'r2', kind: 'router' } as const;
  const fw = { id: 'f', kind: 'firewall' } as const;

  it('maps each pair to the API operation, in either direction', () => {
    expect(connectionFor(vm, vnet)).toEqual({ ok: true, connection: { op: 'vif', vmId: 'm', vnetId: 'n' } });
    expect(connectionFor(vnet, vm)).toEqual({ ok: true, connection: { op: 'vif', vmId: 'm', vnetId: 'n' } });
    expect(connectionFor(router, vnet)).toEqual({ ok: true, connection: { op: 'routerInterface', routerId: 'r', vnetId: 'n' } });
    expect(connectionFor(vnet, fw)).toEqual({ ok: true, connection: { op: 'firewallInterface', firewallId: 'f', vnetId: 'n' } });
    expect(connectionFor(router, router2)).toEqual({ ok: true, connection: { op: 'routerLink', routerAId: 'r', routerBId: 'r2' } });
  });

  it('refuses pairs that mean nothing', () => {
    for (const [a, b] of [[vm, vm], [vm, router], [vnet, vnet], [fw, router], [vm, { id: 'm2', kind: 'vm' as const }]] as const) {
      const r = connectionFor(a, b);
      expect(r.ok).toBe(false);
    }
    expect(connectionFor(router, router)).toMatchObject({ ok: false, reason: /two different/ });
  });
});

describe('names', () => {
  it('proposes the lowest free name', () => {
    expect(nextName('vm', [])).toBe('vm-1');
    expect(nextName('vm', ['vm-1', 'vm-3'])).toBe('vm-2');
    expect(nextName('firewall', ['fw-1'])).toBe('fw-2');
    expect(nextInterfaceName(['eth0', 'eth1'])).toBe('eth2');
  });

  it('proposes a /24 overlapping none of the farm’s vnets', () => {
    expect(suggestCidr([])).toBe('10.1.0.0/24');
    expect(suggestCidr(['10.1.0.0/24', '10.2.0.0/16'])).toBe('10.3.0.0/24');
    expect(suggestCidr(['10.0.0.0/14'])).toBe('10.4.0.0/24');
    expect(suggestCidr(['not a cidr', '10.1.0.128/25'])).toBe('10.2.0.0/24');
    expect(suggestCidr(['10.0.0.0/8'])).toBeNull();
  });
});
