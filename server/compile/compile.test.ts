// Compile from intent to per-host states, case by case. Over 300 lines: one
// fixture farm serves every case, and splitting it would repeat the fixture.
import { resolverAddress } from './dhcp.ts';
import { describe, expect, it } from 'vitest';
import { compile, diffStates, stateHash, canonicalJson, LINK_VNID_TOP, CompileError, tapDeviceName, type HostState } from './index.ts';
import type { CompileFarm, CompileHost, CompileInput, CompileSegment, VnetKeyring } from './types.ts';
import { hostStateSchema } from '../../contract/hostState.ts';
import { unlistedFields } from '../../contract/inspect.ts';

const hosts: CompileHost[] = [
  { id: 'h1', name: 'h1', address: '127.0.0.2', port: 1798, segmentId: 'lan' },
  { id: 'h2', name: 'h2', address: '127.0.0.3', port: 1798, segmentId: 'lan' },
  { id: 'h3', name: 'h3', address: '127.0.0.4', port: 1798, segmentId: 'far' },
];
const segments: CompileSegment[] = [
  { id: 'lan', name: 'lan', multicast: true, multicastGroup: '224.10.0.1', relayHostId: 'h1', proxyMode: false },
  { id: 'far', name: 'far', multicast: true, multicastGroup: '224.10.0.1', relayHostId: 'h3', proxyMode: true },
];

function farm(): CompileFarm {
  return {
    id: 'f1', name: 'web', revision: 3,
    vnets: [
      { vnid: 100, name: 'front', cidr: '10.100.0.0/24', mtu: 1400, security: 'none' },
      { vnid: 200, name: 'back', cidr: '10.200.0.0/24', mtu: 1400, security: 'conf' },
    ],
    vms: [
      { id: 'vm-web-1', name: 'web-1', hostId: 'h1', guestKind: 'emulated', locationVersion: 1,
        vifs: [{ id: 'vif-web-1', serial: 1, name: 'eth0', vnid: 100, mac: '02:5d:00:00:00:01', ip: '10.100.0.10' }] },
      { id: 'vm-web-2', name: 'web-2', hostId: 'h2', guestKind: 'emulated', locationVersion: 1,
        vifs: [{ id: 'vif-web-2', serial: 2, name: 'eth0', vnid: 100, mac: '02:5d:00:00:00:02', ip: '10.100.0.11' }] },
      { id: 'vm-db-1', name: 'db-1', hostId: 'h3', guestKind: 'tap', locationVersion: 4,
        vifs: [{ id: 'vif-db-1', serial: 3, name: 'eth0', vnid: 200, mac: '02:5d:00:00:00:03', ip: '10.200.0.10' }] },
      { id: 'vm-spare', name: 'spare', hostId: null, guestKind: 'emulated', locationVersion: 1,
        vifs: [{ id: 'vif-spare', serial: 4, name: 'eth0', vnid: 100, mac: '02:5d:00:00:00:04', ip: '10.100.0.12' }] },
    ],
    routers: [
      { id: 'router-r1', name: 'r1', hostId: 'h1', staticRoutes: [],
        interfaces: [{ vnid: 100, ip: '10.100.0.1', prefixLen: 24, mac: '02:5d:00:00:01:01', rip: false }] },
      { id: 'router-r2', name: 'r2', hostId: 'h3', staticRoutes: [{ destination: '0.0.0.0/0', nextHop: '10.200.0.254', metric: 1 }],
        interfaces: [{ vnid: 200, ip: '10.200.0.1', prefixLen: 24, mac: '02:5d:00:00:01:02', rip: true }] },
    ],
    routerLinks: [{ a: 'r1', b: 'r2', cidr: '169.254.0.0/30', ipA: '169.254.0.1', ipB: '169.254.0.2', rip: true, vnid: LINK_VNID_TOP }],
    firewalls: [],
  };
}
const input = (f = farm()): CompileInput => ({ hosts, segments, farms: [f] });
/** The same hosts with no relays: every carrier is a direct peer. */
const noRelays = (f = farm()): CompileInput => ({ hosts, segments: segments.map((s) => ({ ...s, relayHostId: null })), farms: [f] });

describe('compile', () => {
  it('gives each host only its own VIFs, with prefixes and location versions', () => {
    const out = compile(input());
    expect([...out.keys()]).toEqual(['h1', 'h2', 'h3']);
    expect(out.get('h1')!.vifs.map((v) => [v.id, v.ip, v.version])).toEqual([['vif-web-1', '10.100.0.10/24', 1]]);
    expect(out.get('h3')!.vifs).toEqual([
      { id: 'vif-db-1', name: 'web/db-1/eth0', farm: 'f1', vnet: 200, mac: '02:5d:00:00:00:03', ip: '10.200.0.10/24', version: 4,
        guest: { kind: 'tap', ifname: 'sdv3' }, gateway: '10.200.0.1', hostName: 'db-1' },
    ]);
    // the unplaced VM runs nowhere
    expect([...out.values()].flatMap((s) => s.vifs).some((v) => v.id.includes('spare'))).toBe(false);
  });

  it('lists, per vnet, the other hosts that carry it (head-end replication)', () => {
    const out = compile(input());
    const h1v100 = out.get('h1')!.vnets.find((v) => v.id === 100)!;
    expect(h1v100.peers).toEqual(['127.0.0.3']);
    expect(out.get('h2')!.vnets.map((v) => v.id)).toEqual([100]);
    expect(out.get('h3')!.vnets.find((v) => v.id === 200)!.peers).toEqual([]);
  });

  it('makes a host with a VLAN bridge a carrier of the vnet, VIFs there or not', () => {
    const f = farm();
    f.vnets[0]!.vlans = [
      { hostId: 'h3', interface: 'eth1', vid: 42 },
      { hostId: 'h2', interface: 'bond0.ext', vid: 4094 },
    ];
    const out = compile(noRelays(f));
    const v100 = (h: string) => out.get(h)!.vnets.find((v) => v.id === 100);
    // h3 runs no VIF on vnet 100, yet carries it bridged to VLAN 42 on eth1
    expect(out.get('h3')!.vifs.some((v) => v.vnet === 100)).toBe(false);
    expect(v100('h3')).toMatchObject({ id: 100, name: 'web/front', farm: 'f1', vlan: { interface: 'eth1', vid: 42 } });
    expect(v100('h3')!.peers).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(v100('h2')!.vlan).toEqual({ interface: 'bond0.ext', vid: 4094 });
    // the vnet's other carriers flood to the bridging host; hosts without a bridge get no vlan
    expect(v100('h1')!.peers).toEqual(['127.0.0.3', '127.0.0.4']);
    expect(v100('h1')!.vlan).toBeUndefined();
    expect(out.get('h3')!.vnets.find((v) => v.id === 200)!.vlan).toBeUndefined();
  });

  it('without VLAN bridges the states are unchanged', () => {
    const f = farm();
    f.vnets[0]!.vlans = [];
    expect(canonicalJson([...compile(input(f))])).toBe(canonicalJson([...compile(input())]));
  });

  it('names the VLAN bridge placed on an unknown host', () => {
    const f = farm();
    f.vnets[1]!.vlans = [{ hostId: 'nope', interface: 'eth1', vid: 7 }];
    expect(() => compile(input(f))).toThrow(CompileError);
    expect(() => compile(input(f))).toThrow(/^vnets\.1\.vlans\.0\.hostId: placed on unknown host nope$/);
  });

  it('uses multicast only when all peers share the host’s multicast segment', () => {
    const out = compile(noRelays());
    // admission: with multicast, the segment's other hosts are members
    expect(out.get('h2')!.underlay).toEqual({ address: '127.0.0.3', port: 1798, multicast: '224.10.0.1', peers: ['127.0.0.2'], members: ['127.0.0.2'] });
    // h1 reaches h3 over the link vnet, and h3 is on another segment without relays: unicast
    expect(out.get('h1')!.underlay.multicast).toBeNull();
    expect(out.get('h1')!.underlay.peers).toEqual(['127.0.0.3', '127.0.0.4']);
  });

  it('reaches carriers on other relayed segments through the relays, not directly', () => {
    const out = compile(input());
    // members: h2 (same segment, multicast) and h3, a carrier behind the relays whose answers come straight here
    expect(out.get('h1')!.underlay).toEqual({
      address: '127.0.0.2', port: 1798, multicast: '224.10.0.1', peers: ['127.0.0.3'], members: ['127.0.0.3', '127.0.0.4'],
    });
    expect(out.get('h1')!.vnets.find((v) => v.id === LINK_VNID_TOP)!.peers).toEqual([]);
  });

  it('turns a cross-host router link into a point-to-point vnet on both hosts', () => {
    const out = compile(input());
    const l1 = out.get('h1')!.routers[0]!.links[0]!;
    const l3 = out.get('h3')!.routers[0]!.links[0]!;
    expect(l1).toMatchObject({ peer: 'router-r2', local: '169.254.0.1/30', remote: '169.254.0.2', vnet: LINK_VNID_TOP, peerHost: 'h3' });
    expect(l3).toMatchObject({ peer: 'router-r1', local: '169.254.0.2/30', remote: '169.254.0.1', vnet: LINK_VNID_TOP, peerHost: 'h1' });
    expect(compile(noRelays()).get('h1')!.vnets.find((v) => v.id === LINK_VNID_TOP)!.peers).toEqual(['127.0.0.4']);
  });

  it('keeps co-located router links off the underlay (no link vnet)', () => {
    const f = farm();
    f.routers[1]!.hostId = 'h1';
    f.routers[1]!.interfaces = [];
    const out = compile(input(f));
    expect(out.get('h1')!.routers.flatMap((r) => r.links.map((l) => l.vnet))).toEqual([null, null]);
  });

  it('configures the vnetd relay role on the segment’s relay host', () => {
    const out = compile(input());
    expect(out.get('h1')!.relay).toEqual({ enabled: true, peers: ['127.0.0.4'], proxy: false });
    expect(out.get('h2')!.relay).toBeNull();
    expect(out.get('h3')!.relay).toEqual({ enabled: true, peers: ['127.0.0.2'], proxy: true });
  });

  it('is deterministic regardless of input order', () => {
    const a = compile(input());
    const f = farm();
    f.vms.reverse();
    f.vnets.reverse();
    const b = compile({ hosts: [...hosts].reverse(), segments, farms: [f] });
    for (const [h, s] of a) expect(stateHash(b.get(h)!)).toBe(stateHash(s));
  });

  it('names everything on hosts by database ids: same-named farms never collide, renames change only display names', () => {
    // Another tenant's farm of the same name, and one named like a tenant-qualified key, on the same hosts.
    const clash = (id: string, name: string): CompileFarm => {
      const f = farm();
      f.id = id;
      f.name = name;
      f.vnets = f.vnets.map((v) => ({ ...v, vnid: v.vnid + (id === 'f2' ? 1 : 2) }));
      f.vms = f.vms.map((vm) => ({ ...vm, id: `${id}-${vm.id}`, vifs: vm.vifs.map((x) => ({ ...x, id: `${id}-${x.id}`, serial: x.serial! + 10 * (id === 'f2' ? 1 : 2), vnid: x.vnid + (id === 'f2' ? 1 : 2) })) }));
      f.routers = f.routers.map((r) => ({ ...r, id: `${id}-${r.id}`, interfaces: r.interfaces.map((i) => ({ ...i, vnid: i.vnid + (id === 'f2' ? 1 : 2) })) }));
      // Router links have ids of their own too (one per link in the deployment).
      f.routerLinks = f.routerLinks.map((l) => ({ ...l, vnid: l.vnid! - (id === 'f2' ? 1 : 2) }));
      return f;
    };
    const out = compile({ hosts, segments, farms: [farm(), clash('f2', 'web'), clash('f3', 'default.web')] });
    for (const s of out.values()) {
      expect(new Set(s.vifs.map((v) => v.id)).size).toBe(s.vifs.length);
      expect(new Set(s.vifs.map((v) => v.guest.kind === 'tap' ? v.guest.ifname : v.id)).size).toBe(s.vifs.length);
      expect(new Set(s.routers.map((r) => r.id)).size).toBe(s.routers.length);
      expect(hostStateSchema.safeParse({ ...s, generation: 1 }).success).toBe(true);
    }
    expect(out.get('h1')!.vifs.map((v) => [v.id, v.name, v.farm])).toEqual([
      ['f2-vif-web-1', 'web/web-1/eth0', 'f2'], ['f3-vif-web-1', 'default.web/web-1/eth0', 'f3'], ['vif-web-1', 'web/web-1/eth0', 'f1'],
    ]);
    // A renamed VM, router or farm keeps every id on its hosts: only display names (and the host name DHCP gives) follow.
    const renamed = farm();
    renamed.name = 'shop';
    renamed.vms[0]!.name = 'www-1';
    renamed.routers[0]!.name = 'edge';
    renamed.routerLinks[0]!.a = 'edge';
    const strip = (s: HostState) => canonicalJson({ ...s, vnets: s.vnets.map(({ name: _n, ...v }) => v), vifs: s.vifs.map(({ name: _n, hostName: _h, ...v }) => v), routers: s.routers.map(({ name: _n, ...r }) => r) });
    const before = compile(input());
    for (const [h, s] of compile(input(renamed))) expect(strip(s), h).toBe(strip(before.get(h)!));
  });

  it('names a TAP guest’s device after its VIF’s number', () => {
    expect(tapDeviceName(7)).toBe('sdv7');
    expect(tapDeviceName(2 ** 31 - 1).length).toBeLessThanOrEqual(15);
    const f = farm();
    f.vms[2]!.vifs[0]!.serial = null; // a snapshot older than VIF numbers: the agent derives the name from the VIF id
    expect(compile(input(f)).get('h3')!.vifs[0]!.guest).toEqual({ kind: 'tap' });
  });

  it('refuses placements on unknown hosts, naming the field', () => {
    const f = farm();
    f.vms[0]!.hostId = 'nope';
    expect(() => compile(input(f))).toThrow(CompileError);
    expect(() => compile(input(f))).toThrow(/^vms\.0\.hostId/);
  });
});

describe('gateways', () => {
  it('gives guests a router on their vnet as gateway, else a firewall, else none', () => {
    const f = farm();
    f.vnets.push({ vnid: 300, name: 'dmz', cidr: '10.30.0.0/24', mtu: 1400, security: 'none' });
    f.vms.push({ id: 'vm-dmz-1', name: 'dmz-1', hostId: 'h2', guestKind: 'emulated', locationVersion: 1,
      vifs: [{ id: 'vif-dmz-1', serial: 5, name: 'eth0', vnid: 300, mac: '02:5d:00:00:00:05', ip: '10.30.0.10' }] });
    f.firewalls.push({ id: 'fw-fw', name: 'fw', hostId: 'h2', defaultPolicy: 'deny', rules: [], interfaces: [
      { name: 'dmz', vnid: 300, ip: '10.30.0.254', prefixLen: 24, mac: '02:5d:00:00:02:01' },
      { name: 'front', vnid: 100, ip: '10.100.0.254', prefixLen: 24, mac: '02:5d:00:00:02:02' },
    ] });
    const out = compile(input(f));
    const gw = (host: string, id: string) => out.get(host)!.vifs.find((v) => v.id === id)!.gateway;
    expect(gw('h1', 'vif-web-1')).toBe('10.100.0.1'); // the router wins over the firewall
    expect(gw('h2', 'vif-dmz-1')).toBe('10.30.0.254');
    f.routers = [];
    f.routerLinks = [];
    f.firewalls = [];
    expect(compile(input(f)).get('h1')!.vifs[0]!.gateway).toBeUndefined();
  });
});

describe('diffStates', () => {
  it('marks only the hosts whose own state changed', () => {
    const before = compile(input());
    const f = farm();
    f.vms[1]!.vifs[0]!.ip = '10.100.0.20'; // web-2 on h2
    const after = compile(input(f));
    const d = diffStates(before, after);
    expect(d.map((x) => [x.host, x.kind])).toEqual([['h1', 'unchanged'], ['h2', 'changed'], ['h3', 'unchanged']]);
    expect(d[1]!.vifs.changed).toEqual(['web/web-2/eth0']);
  });

  it('reports a migration as removal on the old host and addition on the new one', () => {
    const before = compile(input());
    const f = farm();
    f.vms[0]!.hostId = 'h2';
    f.vms[0]!.locationVersion = 2;
    const after = compile(input(f));
    const d = new Map(diffStates(before, after).map((x) => [x.host, x]));
    expect(d.get('h1')!.vifs.removed).toEqual(['web/web-1/eth0']);
    expect(d.get('h2')!.vifs.added).toEqual(['web/web-1/eth0']);
  });

  it('lists a live migration\'s VIFs outgoing on the source and incoming on the destination, and neither once it ends', () => {
    const f = farm();
    f.vms[2]!.incoming = { hostId: 'h1', version: 5 };
    const out = compile(input(f));
    const src = out.get('h3')!.vifs.find((v) => v.id === 'vif-db-1')!;
    const dst = out.get('h1')!.vifs.find((v) => v.id === 'vif-db-1')!;
    expect(src).toMatchObject({ version: 4, outgoing: true });
    expect(src.incoming).toBeUndefined();
    expect(dst).toMatchObject({ version: 5, incoming: true });
    expect(dst.outgoing).toBeUndefined();
    // Other VMs are not moving: no flag on their VIFs.
    expect(out.get('h1')!.vifs.find((v) => v.id === 'vif-web-1')!.outgoing).toBeUndefined();
    for (const st of out.values()) expect(hostStateSchema.safeParse(st).success).toBe(true);
    // Finished (or cancelled): one host, no flags.
    f.vms[2]!.incoming = null;
    const done = compile(input(f)).get('h3')!.vifs.find((v) => v.id === 'vif-db-1')!;
    expect(done.outgoing).toBeUndefined();
    expect(done.incoming).toBeUndefined();
  });
});

const ring = (id: number, fill: number): VnetKeyring => ({
  keys: [{ id, key: Buffer.alloc(32, fill).toString('base64'), salt: Buffer.alloc(4, fill).toString('base64') }],
  sendKeyId: id,
});

describe('sealed vnets, VARP key and bandwidth limits', () => {
  it('gives a vnet’s keys only to the hosts that carry it, and only for auth/conf vnets', () => {
    const rotating: VnetKeyring = { keys: [...ring(9, 0x22).keys, ...ring(8, 0x11).keys], sendKeyId: 8 };
    const out = compile({ ...input(), vnetKeys: new Map([[200, rotating], [100, ring(5, 0x33)]]) });
    const v200 = out.get('h3')!.vnets.find((v) => v.id === 200)!;
    expect(v200.keys!.map((k) => k.id)).toEqual([8, 9]);
    expect(v200.sendKeyId).toBe(8);
    for (const h of ['h1', 'h2']) {
      const text = canonicalJson(out.get(h));
      for (const k of rotating.keys) expect(text).not.toContain(k.key);
      expect(text).not.toContain(ring(5, 0x33).keys[0]!.key); // vnet 100 is open: no keys at all
    }
    expect(out.get('h3')!.vnets.find((v) => v.id === LINK_VNID_TOP)!.keys).toBeUndefined();
  });

  it('writes the VARP key into every state, and each VM’s limit into its VIFs', () => {
    const f = farm();
    f.vms[0]!.limit = { rateMbps: 50, burstKb: 64 };
    f.vms[1]!.limit = null;
    const out = compile({ ...input(f), varpKey: 'a2V5' });
    for (const s of out.values()) expect(s.varp).toEqual({ key: 'a2V5' });
    expect(out.get('h1')!.vifs[0]!.limit).toEqual({ rateMbps: 50, burstKb: 64 });
    expect(out.get('h2')!.vifs[0]!.limit).toBeUndefined();
    expect(compile(input()).get('h1')!.varp).toBeUndefined();
  });

  it('writes only fields the contract carries, into states the contract accepts', () => {
    const f = farm();
    f.vms[0]!.limit = { rateMbps: 50, burstKb: 64 };
    f.vnets[0]!.vlans = [{ hostId: 'h2', interface: 'eth1', vid: 300 }];
    f.firewalls = [{
      id: 'fw-fw', name: 'fw', hostId: 'h2', defaultPolicy: 'deny',
      interfaces: [{ name: 'inside', vnid: 100, ip: '10.100.0.254', prefixLen: 24, mac: '02:5d:00:00:02:01' }],
      rules: [{ action: 'allow', protocol: 'tcp', source: '0.0.0.0/0', destination: '10.100.0.0/24', portFrom: 80, portTo: 80, interface: 'inside', log: true }],
    }];
    const varpKey = Buffer.alloc(32, 5).toString('base64');
    const out = compile({ ...input(f), vnetKeys: new Map([[200, ring(3, 0x44)]]), varpKey });
    const sections = new Set<string>();
    for (const [host, state] of out) {
      const doc = { ...state, generation: 1 };
      const r = hostStateSchema.safeParse(doc);
      expect(r.success ? [] : r.error.issues, host).toEqual([]);
      expect(unlistedFields(hostStateSchema, doc), host).toEqual([]);
      for (const [k, v] of Object.entries(doc)) if (Array.isArray(v) ? v.length : v) sections.add(k);
    }
    // The check saw every section, and would see a field the contract lacks.
    expect([...sections].sort()).toEqual(['firewalls', 'generation', 'host', 'relay', 'routers', 'underlay', 'varp', 'vifs', 'vnets']);
    const extra = { ...out.get('h1')!, vifs: out.get('h1')!.vifs.map((v) => ({ ...v, secretSauce: 1 })) };
    expect(unlistedFields(hostStateSchema, extra)).toEqual(['vifs[0].secretSauce']);
  });
});

describe('relays on unicast-only segments', () => {
  const wide: CompileHost[] = [
    { id: 'a1', name: 'a1', address: '198.18.1.1', port: 1798, segmentId: 'A' },
    { id: 'a2', name: 'a2', address: '198.18.1.2', port: 1798, segmentId: 'A' },
    { id: 'b1', name: 'b1', address: '198.18.2.1', port: 1798, segmentId: 'B' },
    { id: 'b2', name: 'b2', address: '198.18.2.2', port: 1798, segmentId: 'B' },
  ];
  const segs = (proxyMode: boolean): CompileSegment[] => [
    { id: 'A', name: 'A', multicast: false, multicastGroup: '224.10.0.1', relayHostId: 'a1', proxyMode },
    { id: 'B', name: 'B', multicast: false, multicastGroup: '224.10.0.1', relayHostId: 'b1', proxyMode },
  ];
  const wideFarm = (): CompileFarm => ({
    id: 'f2', name: 'app', revision: 1, routers: [], routerLinks: [], firewalls: [],
    vnets: [{ vnid: 7, name: 'sealed', cidr: '10.7.0.0/24', mtu: 1400, security: 'conf' }],
    vms: [
      { id: 'vm-g1', name: 'g1', hostId: 'a2', guestKind: 'emulated', locationVersion: 1, vifs: [{ id: 'vif-g1', serial: 11, name: 'eth0', vnid: 7, mac: '02:5d:00:00:07:01', ip: '10.7.0.1' }] },
      { id: 'vm-g2', name: 'g2', hostId: 'b2', guestKind: 'emulated', locationVersion: 1, vifs: [{ id: 'vif-g2', serial: 12, name: 'eth0', vnid: 7, mac: '02:5d:00:00:07:02', ip: '10.7.0.2' }] },
    ],
  });
  const keys = new Map([[7, ring(1, 0x77)]]);

  it('members flood to their relay, and the relay to its LAN; relays hold no keys without proxy mode', () => {
    const out = compile({ hosts: wide, segments: segs(false), farms: [wideFarm()], vnetKeys: keys });
    expect(out.get('a2')!.underlay).toMatchObject({ multicast: null, peers: ['198.18.1.1'] });
    expect(out.get('a2')!.vnets[0]!.peers).toEqual(['198.18.1.1']); // not b2: that one is behind the relays
    expect(out.get('a1')!.underlay).toMatchObject({ multicast: null, peers: ['198.18.1.2'] });
    expect(out.get('a1')!.relay).toEqual({ enabled: true, peers: ['198.18.2.1'], proxy: false });
    expect(out.get('a1')!.vnets).toEqual([]);
    expect(out.get('b2')!.vnets[0]!.peers).toEqual(['198.18.2.1']);
  });

  it('gives a proxy relay the sealed vnets that cross it, keys included, without VIFs', () => {
    const out = compile({ hosts: wide, segments: segs(true), farms: [wideFarm()], vnetKeys: keys });
    for (const [relay, member] of [['a1', '198.18.1.2'], ['b1', '198.18.2.2']] as const) {
      const s = out.get(relay)!;
      expect(s.vifs).toEqual([]);
      expect(s.vnets).toEqual([expect.objectContaining({ id: 7, security: 'conf', keys: ring(1, 0x77).keys, sendKeyId: 1, peers: [member] })]);
      expect(s.relay!.proxy).toBe(true);
    }
    expect(out.get('a2')!.vnets[0]!.peers).toEqual(['198.18.1.1']);
    // an open vnet crossing the relays is given to them too (a proxy resolves only on vnets it carries), without keys
    const open = wideFarm();
    open.vnets[0]!.security = 'none';
    const a1 = compile({ hosts: wide, segments: segs(true), farms: [open], vnetKeys: keys }).get('a1')!;
    expect(a1.vnets).toEqual([expect.objectContaining({ id: 7, security: 'none', peers: ['198.18.1.2'] })]);
    expect(a1.vnets[0]!.keys).toBeUndefined();
  });
});

describe('compile: DHCP and DNS', () => {
  it('fills each vnet\'s dhcp from its settings and the farm: gateway, a free resolver address, the farm\'s names, domain under the farm', () => {
    const f = farm();
    f.vnets = f.vnets.map((v) => ({ ...v, dhcp: { enabled: true, gateway: null, dnsServers: ['10.9.9.9'], domain: 'example.internal', leaseTime: 600 } }));
    const out = compile(input(f));
    const vnet = [...out.values()].flatMap((s) => s.vnets).find((v) => v.id === 200)!;
    expect(vnet.dhcp).toEqual({
      enabled: true, gateway: '10.200.0.1', resolver: '10.200.0.254', dnsServers: ['10.9.9.9'], domain: `${f.name}.example.internal`, leaseTime: 600,
      names: [{ name: 'db-1', ip: '10.200.0.10' }],
    });
    expect(compile(input(farm())).get('h3')!.vnets.every((v) => v.dhcp === undefined)).toBe(true);
    // Bridged to a LAN: no resolver address is claimed.
    f.vnets = f.vnets.map((v) => ({ ...v, vlans: [{ hostId: 'h3', interface: 'eth1', vid: 5 }] }));
    const bridged = [...compile(input(f)).values()].flatMap((s) => s.vnets).find((v) => v.id === 200)!;
    expect(bridged.dhcp?.resolver).toBeUndefined();
  });

  it('picks the highest free host address for the resolver', () => {
    expect(resolverAddress('10.0.0.0/24', new Set())).toBe('10.0.0.254');
    expect(resolverAddress('10.0.0.0/24', new Set(['10.0.0.254', '10.0.0.253']))).toBe('10.0.0.252');
    expect(resolverAddress('10.0.0.0/30', new Set(['10.0.0.2', '10.0.0.1']))).toBeUndefined();
  });
});

describe('external legs', () => {
  const leg = {
    networkId: 'net-1', network: 'uplink', vnid: LINK_VNID_TOP - 5, ip: '198.51.100.10', mac: '02:5d:00:00:0e:01', snat: ['10.100.0.0/24'],
    floatingIps: [{ external: '198.51.100.11', internal: '10.100.0.10' }],
    portForwards: [{ protocol: 'tcp' as const, external: '198.51.100.10', externalPort: 8080, internal: '10.100.0.11', internalPort: 80 }],
  };
  const bound = hosts.map((h) => (h.id === 'h1' ? { ...h, externalNetworks: [{ id: 'net-1', interface: 'enp1s0', vid: 7, prefixLen: 24, gateway: '198.51.100.1' }] } : h));
  const withLeg = (): CompileFarm => {
    const f = farm();
    f.routers[0] = { ...f.routers[0]!, external: leg };
    f.firewalls = [{ id: 'fw-1', name: 'fw', hostId: 'h1', defaultPolicy: 'deny', rules: [],
      interfaces: [{ name: 'inside', vnid: 100, ip: '10.100.0.2', prefixLen: 24, mac: '02:5d:00:00:02:01' }],
      external: { ...leg, vnid: LINK_VNID_TOP - 6, ip: '198.51.100.12', mac: '02:5d:00:00:0e:02', floatingIps: [], portForwards: [] } }];
    return f;
  };

  it('bridges the leg to the host binding and gives the node its interface with NAT and a default route', () => {
    const h1 = compile({ hosts: bound, segments, farms: [withLeg()] }).get('h1')!;
    expect(h1.vnets.find((v) => v.id === leg.vnid)).toEqual({
      id: leg.vnid, name: 'web/external:uplink', farm: 'f1', security: 'none', mtu: 1500, peers: [],
      external: { interface: 'enp1s0', vid: 7, mac: leg.mac },
    });
    const r1 = h1.routers.find((r) => r.id === 'router-r1')!;
    expect(r1.interfaces.at(-1)).toEqual({
      vnet: leg.vnid, mac: leg.mac, ip: '198.51.100.10/24', rip: false,
      nat: { snat: leg.snat, floatingIps: leg.floatingIps, portForwards: leg.portForwards },
    });
    expect(r1.staticRoutes[0]).toEqual({ destination: '0.0.0.0/0', nextHop: '198.51.100.1', metric: 1 });
    expect(h1.firewalls[0]!.interfaces.map((i) => i.name)).toEqual(['inside', 'uplink']);
    // The leg's vnet is this host's alone: no other host carries it.
    for (const h of ['h2', 'h3']) expect(compile({ hosts: bound, segments, farms: [withLeg()] }).get(h)?.vnets.some((v) => v.id === leg.vnid)).toBe(false);
    const parsed = hostStateSchema.safeParse(h1);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it('keeps a router default route it has, and refuses a leg on a host without a binding', () => {
    const f = withLeg();
    f.routers[0] = { ...f.routers[0]!, staticRoutes: [{ destination: '0.0.0.0/0', nextHop: '10.100.0.254', metric: 1 }] };
    const r1 = compile({ hosts: bound, segments, farms: [f] }).get('h1')!.routers.find((r) => r.id === 'router-r1')!;
    expect(r1.staticRoutes.filter((s) => s.destination === '0.0.0.0/0')).toEqual([{ destination: '0.0.0.0/0', nextHop: '10.100.0.254', metric: 1 }]);
    expect(() => compile({ hosts, segments, farms: [withLeg()] })).toThrow(CompileError);
    expect(() => compile({ hosts, segments, farms: [withLeg()] })).toThrow(/host h1 has no binding/);
  });
});
