// Security groups as compile gives them to hosts: each host the groups its
// VIFs use and no other, remote groups as address sets of all members' /32s
// (on any host) sent once per host however many rules name them, every
// state valid under the contract, no `securityGroups` where no VIF has a
// group, and a host past the contract's bounds refused by name.
import { describe, expect, it } from 'vitest';
import { hostStateSchema } from '../../contract/hostState.ts';
import { SG_MAX_REMOTE_ENTRIES, SG_MAX_RULES } from '../../contract/limits.ts';
import { compile, CompileError } from './index.ts';
import type { CompileFarm, CompileHost, CompileSecurityGroup } from './types.ts';

const hosts: CompileHost[] = [
  { id: 'h1', name: 'h1', address: '127.0.0.2', port: 1798, segmentId: null },
  { id: 'h2', name: 'h2', address: '127.0.0.3', port: 1798, segmentId: null },
  { id: 'h3', name: 'h3', address: '127.0.0.4', port: 1798, segmentId: null },
];
const rule = (id: string, over: Partial<CompileSecurityGroup['rules'][number]>): CompileSecurityGroup['rules'][number] => ({
  id, direction: 'ingress', protocol: 'any', portFrom: null, portTo: null, icmpType: null, icmpCode: null, remoteCidr: '0.0.0.0/0', remoteGroup: null, ...over,
});
const vm = (n: number, hostId: string | null, groups: string[]) => ({
  id: `vm${n}`, name: `vm${n}`, hostId, guestKind: 'emulated' as const, locationVersion: 1,
  vifs: [{ id: `vif${n}`, serial: n, name: 'eth0', vnid: 100, mac: `02:5d:00:00:00:0${n}`, ip: `10.50.0.${10 + n}`, securityGroups: groups }],
});

function farm(): CompileFarm {
  return {
    id: 'f', name: 'shop', revision: 1,
    vnets: [{ vnid: 100, name: 'net', cidr: '10.50.0.0/24', mtu: 1400, security: 'none' }],
    vms: [vm(1, 'h1', ['g-web']), vm(2, 'h2', ['g-db']), vm(3, null, ['g-web']), vm(4, 'h3', [])],
    routers: [], routerLinks: [], firewalls: [],
    securityGroups: [
      { id: 'g-web', name: 'web', rules: [rule('r1', { protocol: 'tcp', portFrom: 80, portTo: 443 }), rule('r2', { direction: 'egress' })] },
      { id: 'g-db', name: 'db', rules: [rule('r3', { protocol: 'tcp', portFrom: 5432, portTo: 5432, remoteCidr: null, remoteGroup: 'g-web' })] },
      { id: 'g-unused', name: 'unused', rules: [] },
    ],
  };
}

describe('security groups in host states', () => {
  it('gives each host the groups its VIFs use, remote groups resolved to every member', () => {
    const out = compile({ hosts, segments: [], farms: [farm()] });
    const h1 = out.get('h1')!, h2 = out.get('h2')!, h3 = out.get('h3')!;
    expect(h1.securityGroups!.map((g) => g.id)).toEqual(['g-web']);
    expect(h2.securityGroups).toEqual([{
      id: 'g-db', name: 'shop/db',
      rules: [{ id: 'r3', direction: 'ingress', protocol: 'tcp', portFrom: 5432, portTo: 5432, icmpType: null, icmpCode: null, remote: [], remoteSet: 'g-web' }],
    }]);
    expect(h2.addressSets).toEqual([{ id: 'g-web', addresses: ['10.50.0.11/32', '10.50.0.13/32'] }]);
    expect(h1.securityGroups![0]!.rules[0]).toMatchObject({ remote: ['0.0.0.0/0'], remoteSet: null });
    expect('addressSets' in h1).toBe(false);
    expect(h1.vifs[0]!.securityGroups).toEqual(['g-web']);
    // A host whose VIFs have no group gets no securityGroups, and its VIFs none either.
    expect('securityGroups' in h3).toBe(false);
    expect('securityGroups' in h3.vifs[0]!).toBe(false);
    for (const s of out.values()) expect(hostStateSchema.safeParse(s).success).toBe(true);
  });

  it('follows membership: a new member of a remote group changes the rule on the host that uses it', () => {
    const f = farm();
    f.vms[3]!.vifs[0]!.securityGroups = ['g-web'];
    const h2 = compile({ hosts, segments: [], farms: [f] }).get('h2')!;
    expect(h2.addressSets![0]!.addresses).toEqual(['10.50.0.11/32', '10.50.0.13/32', '10.50.0.14/32']);
  });

  it('sends a remote group once per host however many rules name it', () => {
    const f = farm();
    f.vms = Array.from({ length: 4096 }, (_, i) => ({
      id: `m${i}`, name: `m${i}`, hostId: i === 0 ? 'h1' : null, guestKind: 'emulated' as const, locationVersion: 1,
      vifs: [{ id: `v${i}`, serial: i + 1, name: 'eth0', vnid: 100, mac: '02:5d:00:00:00:01', ip: `10.${50 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, securityGroups: ['g-db'] }],
    }));
    f.securityGroups![1]!.rules = Array.from({ length: SG_MAX_RULES }, (_, j) => rule(`r${j}`, { protocol: 'tcp', portFrom: j, portTo: j, remoteCidr: null, remoteGroup: 'g-db' }));
    const h1 = compile({ hosts, segments: [], farms: [f] }).get('h1')!;
    expect(h1.addressSets!.map((a) => [a.id, a.addresses.length])).toEqual([['g-db', 4096]]);
    expect(h1.securityGroups![0]!.rules.every((r) => r.remote.length === 0 && r.remoteSet === 'g-db')).toBe(true);
    // 4,096 addresses once plus 1,000 small rules: well under a megabyte (each rule carrying the members was 64 MB).
    expect(JSON.stringify(h1).length).toBeLessThan(1_000_000);
    expect(hostStateSchema.safeParse(h1).success).toBe(true);
  });

  it('refuses a host whose address sets exceed the bound, naming the rule of the largest remote group', () => {
    const f = farm();
    f.vms = Array.from({ length: SG_MAX_REMOTE_ENTRIES + 1 }, (_, i) => ({
      id: `m${i}`, name: `m${i}`, hostId: 'h1', guestKind: 'emulated' as const, locationVersion: 1,
      vifs: [{ id: `v${i}`, serial: i + 1, name: 'eth0', vnid: 100, mac: '02:5d:00:00:00:01', ip: `10.${50 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, securityGroups: ['g-web', 'g-db'] }],
    }));
    expect(() => compile({ hosts, segments: [], farms: [f] })).toThrow(CompileError);
    const err = (() => {
      try {
        compile({ hosts, segments: [], farms: [f] });
      } catch (e) {
        return e as CompileError;
      }
      return undefined;
    })();
    expect(err?.field).toBe('securityGroups.1.rules.0.remoteGroup');
    expect(err?.message).toMatch(/hold 65539 addresses with the rules' own; a host takes at most 65536/);
  });
});

describe('a VIF in no group', () => {
  it('fails closed in a farm of mode default (filtered, nothing allowed) and stays unfiltered in mode none', () => {
    const closed = compile({ hosts, segments: [], farms: [{ ...farm(), securityGroupMode: 'default' }] });
    expect(closed.get('h3')!.vifs[0]!.securityGroups).toEqual([]);
    expect('securityGroups' in closed.get('h3')!).toBe(false);
    expect(closed.get('h1')!.vifs[0]!.securityGroups).toEqual(['g-web']);
    for (const s of closed.values()) expect(hostStateSchema.safeParse(s).success).toBe(true);
    const open = compile({ hosts, segments: [], farms: [{ ...farm(), securityGroupMode: 'none' }] });
    expect('securityGroups' in open.get('h3')!.vifs[0]!).toBe(false);
  });
});
