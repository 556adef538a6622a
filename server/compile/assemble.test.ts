// One vnet id is one farm's network: assembling two farms' parts that carry
// the same id is refused, never merged into one segment.
import { describe, expect, it } from 'vitest';
import { compile, CompileError } from './index.ts';
import type { CompileFarm, CompileHost } from './types.ts';

const hosts: CompileHost[] = [
  { id: 'h1', name: 'h1', address: '127.0.0.2', port: 1798, segmentId: null },
  { id: 'h2', name: 'h2', address: '127.0.0.3', port: 1798, segmentId: null },
];

function farm(id: string, name: string, hostId: string, vnid: number, mac: string): CompileFarm {
  return {
    id, name, revision: 1,
    vnets: [{ vnid, name: 'net', cidr: '10.50.0.0/24', mtu: 1400, security: 'none' }],
    vms: [
      { id: `vm-${id}`, name: 'vm', hostId, guestKind: 'emulated', locationVersion: 1,
        vifs: [{ id: `vif-${id}`, serial: 1, name: 'eth0', vnid, mac, ip: '10.50.0.10' }] },
    ],
    routers: [], routerLinks: [], firewalls: [],
  };
}

describe('assemble', () => {
  it('refuses two farms carrying the same vnet id', () => {
    const a = farm('fa', 'a', 'h1', 100, '02:5d:00:00:00:01');
    const b = farm('fb', 'b', 'h2', 100, '02:5d:00:00:00:02');
    expect(() => compile({ hosts, segments: [], farms: [a, b] })).toThrow(CompileError);
    expect(() => compile({ hosts, segments: [], farms: [a, b] })).toThrow(/vnet id 100 is carried by two deployed farms/);
  });

  it('floods between the farms only when their vnet ids differ', () => {
    const out = compile({ hosts, segments: [], farms: [farm('fa', 'a', 'h1', 100, '02:5d:00:00:00:01'), farm('fb', 'b', 'h2', 101, '02:5d:00:00:00:02')] });
    expect(out.get('h1')!.vnets.map((v) => [v.id, v.farm, v.peers])).toEqual([[100, 'fa', []]]);
    expect(out.get('h2')!.vnets.map((v) => [v.id, v.farm, v.peers])).toEqual([[101, 'fb', []]]);
  });
});
