import { describe, expect, it } from 'vitest';
import { compile } from '../compile/index.ts';
import type { CompileFarm, CompileHost } from '../compile/types.ts';
import { traceFlow, TraceInputError, type TraceHost, type TraceRequest } from './index.ts';
import type { StateSecurityGroup } from '../../contract/hostState.ts';

const hosts: CompileHost[] = [
  { id: 'h1', name: 'h1', address: '198.18.5.1', port: 1798, segmentId: null },
  { id: 'h2', name: 'h2', address: '198.18.5.2', port: 1798, segmentId: null },
  { id: 'h3', name: 'h3', address: '198.18.5.3', port: 1798, segmentId: null },
];

const vif = (id: string, vnid: number, ip: string, n: number) => ({ id, serial: n, name: 'eth0', vnid, mac: `02:5d:00:00:00:${n.toString(16).padStart(2, '0')}`, ip });
const vm = (id: string, hostId: string, v: ReturnType<typeof vif>) => ({ id, name: id, hostId, guestKind: 'emulated' as const, locationVersion: 1, vifs: [v] });

/** web (10.1/24) -- r1 -- app (10.2/24) -- fw -- db (10.3/24); r1 routes 10.3/24 via the firewall. */
function farm(): CompileFarm {
  return {
    id: 'f1', name: 'shop', revision: 1,
    vnets: [
      { vnid: 101, name: 'web', cidr: '10.1.0.0/24', mtu: 1400, security: 'none' },
      { vnid: 102, name: 'app', cidr: '10.2.0.0/24', mtu: 1400, security: 'none' },
      { vnid: 103, name: 'db', cidr: '10.3.0.0/24', mtu: 1400, security: 'none' },
    ],
    vms: [
      vm('web1', 'h1', vif('v-web1', 101, '10.1.0.10', 1)),
      vm('web2', 'h2', vif('v-web2', 101, '10.1.0.11', 2)),
      vm('app1', 'h2', vif('v-app1', 102, '10.2.0.10', 3)),
      vm('db1', 'h3', vif('v-db1', 103, '10.3.0.10', 4)),
    ],
    routers: [{
      id: 'r1', name: 'r1', hostId: 'h1',
      interfaces: [
        { vnid: 101, ip: '10.1.0.1', prefixLen: 24, mac: '02:5d:00:00:01:01', rip: false },
        { vnid: 102, ip: '10.2.0.1', prefixLen: 24, mac: '02:5d:00:00:01:02', rip: false },
      ],
      staticRoutes: [{ destination: '10.3.0.0/24', nextHop: '10.2.0.254', metric: 1 }],
    }],
    routerLinks: [],
    firewalls: [{
      id: 'fw1', name: 'fw', hostId: 'h3', defaultPolicy: 'deny',
      interfaces: [
        { name: 'app', vnid: 102, ip: '10.2.0.254', prefixLen: 24, mac: '02:5d:00:00:02:01' },
        { name: 'db', vnid: 103, ip: '10.3.0.1', prefixLen: 24, mac: '02:5d:00:00:02:02' },
      ],
      rules: [
        { action: 'deny', protocol: 'tcp', source: '10.1.0.11/32', destination: '10.3.0.0/24', portFrom: null, portTo: null, interface: null, log: false },
        { action: 'allow', protocol: 'tcp', source: '10.0.0.0/8', destination: '10.3.0.0/24', portFrom: 5432, portTo: null, interface: 'app', log: false },
        { action: 'allow', protocol: 'icmp', source: '0.0.0.0/0', destination: '0.0.0.0/0', portFrom: null, portTo: null, interface: null, log: false },
      ],
    }],
  };
}

function states(f = farm()): TraceHost[] {
  const out = compile({ hosts, segments: [], farms: [f] });
  return hosts.filter((h) => out.has(h.id)).map((h) => ({ id: h.id, name: h.name, address: h.address, state: out.get(h.id)! }));
}

const trace = (r: Partial<TraceRequest> & Pick<TraceRequest, 'to' | 'protocol'>, hs = states()) => traceFlow({ hosts: hs, from: { vif: 'v-web1' }, ...r });

describe('packet trace', () => {
  it('follows a flow across a router and a firewall, naming the route and the rule', () => {
    const t = trace({ to: '10.3.0.10', protocol: 'tcp', port: 5432 });
    expect(t.verdict).toBe('delivered');
    expect(t.hops.map((h) => [h.step, h.verdict, h.host?.name, h.node.name])).toEqual([
      ['port-security', 'pass', 'h1', 'shop/web1/eth0'],
      ['switch', 'pass', 'h1', 'shop/web'],
      ['router', 'pass', 'h1', 'shop/r1'],
      ['switch', 'pass', 'h1', 'shop/app'],
      ['firewall', 'pass', 'h3', 'shop/fw'],
      ['switch', 'pass', 'h3', 'shop/db'],
      ['deliver', 'deliver', 'h3', 'shop/db1/eth0'],
    ]);
    expect(t.hops[1]!.reason).toContain('local port on h1');
    expect(t.hops[2]!.decidedBy).toMatchObject({ kind: 'route', ref: '10.3.0.0/24' });
    expect(t.hops[3]!.reason).toContain('host h3 (198.18.5.3)');
    expect(t.hops[4]!.decidedBy).toMatchObject({ kind: 'rule', ref: 1 });
  });

  it('stops at the firewall rule that denies, and at the default policy', () => {
    const denied = trace({ from: { vif: 'v-web2' }, to: '10.3.0.10', protocol: 'tcp', port: 5432 });
    expect(denied.verdict).toBe('dropped');
    const f = denied.hops[denied.failedAt!]!;
    expect([f.step, f.host?.name, f.decidedBy?.kind, f.decidedBy?.ref]).toEqual(['firewall', 'h3', 'rule', 0]);
    expect(f.decidedBy!.text).toContain('deny tcp 10.1.0.11/32 -> 10.3.0.0/24');
    const byDefault = trace({ to: '10.3.0.10', protocol: 'udp', port: 53 });
    expect(byDefault.hops[byDefault.failedAt!]).toMatchObject({ step: 'firewall', verdict: 'drop', decidedBy: { kind: 'default', text: 'default policy deny' } });
    expect(trace({ to: '10.3.0.10', protocol: 'icmp' }).verdict).toBe('delivered');
  });

  it('drops where no route or no owner exists', () => {
    const noRoute = trace({ to: '192.0.2.1', protocol: 'icmp' });
    expect(noRoute.hops[noRoute.failedAt!]).toMatchObject({ step: 'router', verdict: 'drop' });
    expect(noRoute.hops[noRoute.failedAt!]!.reason).toContain('no route to 192.0.2.1');
    const nobody = trace({ to: '10.1.0.99', protocol: 'icmp' });
    expect(nobody.hops[nobody.failedAt!]).toMatchObject({ step: 'switch', verdict: 'drop' });
    expect(nobody.hops[nobody.failedAt!]!.reason).toContain('ARP goes unanswered');
    const local = trace({ to: '10.1.0.11', protocol: 'udp', port: 7 });
    expect(local.verdict).toBe('delivered');
    expect(local.hops[1]!.reason).toContain('host h2 (198.18.5.2), which VARP resolves MAC 02:5d:00:00:00:02');
  });

  it('says a RIP-only destination is known live only', () => {
    const f = farm();
    f.routers[0]!.interfaces[1]!.rip = true;
    f.routers[0]!.staticRoutes = [];
    const t = trace({ to: '10.3.0.10', protocol: 'icmp' }, states(f));
    expect(t.verdict).toBe('unknown');
    expect(t.hops[t.failedAt!]!.reason).toContain('learnt by RIP');
    // With the route the running router learnt, the walk goes on as the router forwards.
    const learnt = [{ router: 'r1', destination: '10.3.0.0/24', nextHop: '10.2.0.254', iface: 'vnet102', metric: 2 }];
    const live = traceFlow({ hosts: states(f), from: { vif: 'v-web1' }, to: '10.3.0.10', protocol: 'icmp', learnt });
    expect(live.verdict).toBe('delivered');
    expect(live.hops[2]).toMatchObject({ step: 'router', verdict: 'pass', decidedBy: { kind: 'route', text: '10.3.0.0/24 via 10.2.0.254 dev vnet102 [rip/2]' } });
    expect(live.hops[2]!.reason).toContain('RIP route');
  });

  it('applies security groups: egress, ingress, unfiltered without groups', () => {
    const hs = states();
    const web: StateSecurityGroup = { id: 'sg-web', name: 'web', rules: [
      { id: 'e1', direction: 'egress', protocol: 'tcp', portFrom: 5432, portTo: null, icmpType: null, icmpCode: null, remote: ['10.3.0.0/24'], remoteSet: null },
      { id: 'e2', direction: 'egress', protocol: 'icmp', portFrom: null, portTo: null, icmpType: 8, icmpCode: null, remote: ['0.0.0.0/0'], remoteSet: null },
    ] };
    const db: StateSecurityGroup = { id: 'sg-db', name: 'db', rules: [
      // web's members as a remote group: an address set the host holds once
      { id: 'i1', direction: 'ingress', protocol: 'tcp', portFrom: 5000, portTo: 6000, icmpType: null, icmpCode: null, remote: [], remoteSet: 'sg-web' },
    ] };
    const h1 = hs.find((h) => h.id === 'h1')!.state;
    h1.securityGroups = [web];
    h1.vifs[0]!.securityGroups = ['sg-web'];
    const h3 = hs.find((h) => h.id === 'h3')!.state;
    h3.securityGroups = [db];
    h3.vifs[0]!.securityGroups = ['sg-db'];
    h3.addressSets = [{ id: 'sg-web', addresses: [] }];
    // An empty set matches nothing: the flow stops at db1's ingress
    expect(trace({ to: '10.3.0.10', protocol: 'tcp', port: 5432 }, hs).hops.at(-1)).toMatchObject({ step: 'security-group', verdict: 'drop', host: { name: 'h3' } });
    h3.addressSets = [{ id: 'sg-web', addresses: ['10.1.0.10/32'] }];
    const ok = trace({ to: '10.3.0.10', protocol: 'tcp', port: 5432 }, hs);
    expect(ok.verdict).toBe('delivered');
    expect(ok.hops.filter((h) => h.step === 'security-group').map((h) => h.decidedBy?.ref)).toEqual(['sg-web/e1', 'sg-db/i1']);
    const egress = trace({ to: '10.3.0.10', protocol: 'udp', port: 5432 }, hs);
    expect(egress.hops[egress.failedAt!]).toMatchObject({ step: 'security-group', verdict: 'drop', host: { name: 'h1' } });
    // ICMP leaves web1 (rule e2) and passes the firewall, but db1's groups allow no ICMP in
    const ingress = trace({ to: '10.3.0.10', protocol: 'icmp' }, hs);
    expect(ingress.hops[ingress.failedAt!]).toMatchObject({ step: 'security-group', verdict: 'drop', host: { name: 'h3' }, node: { id: 'v-db1' } });
    // web2 lists no groups: not filtered
    expect(trace({ from: { vif: 'v-web2' }, to: '10.1.0.10', protocol: 'icmp' }, hs).hops.some((h) => h.step === 'security-group' && h.node.id === 'v-web2')).toBe(false);
  });

  it('translates with NAT on an external leg, and refuses other inbound flows', () => {
    const hs = states();
    const h1 = hs.find((h) => h.id === 'h1')!.state;
    h1.vnets.push({ id: 150, name: 'shop/internet', farm: 'f1', security: 'none', mtu: 1400, peers: [], external: { interface: 'eth9', vid: null, mac: '02:5d:00:00:01:09' } });
    h1.routers![0]!.interfaces.push({
      vnet: 150, mac: '02:5d:00:00:01:09', ip: '203.0.113.2/24', rip: false,
      nat: { snat: ['10.0.0.0/8'], floatingIps: [{ external: '203.0.113.10', internal: '10.1.0.11' }], portForwards: [{ protocol: 'tcp', external: '203.0.113.2', externalPort: 8080, internal: '10.2.0.10', internalPort: 80 }] },
    });
    h1.routers![0]!.staticRoutes.push({ destination: '0.0.0.0/0', nextHop: '203.0.113.1', metric: 1 });
    const out = trace({ to: '198.51.100.7', protocol: 'tcp', port: 443 }, hs);
    expect(out.verdict).toBe('delivered');
    expect(out.hops.find((h) => h.step === 'nat')!.packet.src).toBe('203.0.113.2');
    expect(out.hops.at(-1)).toMatchObject({ step: 'external', verdict: 'deliver' });
    const fwd = traceFlow({ hosts: hs, from: { external: '198.51.100.7' }, to: '203.0.113.2', protocol: 'tcp', port: 8080 });
    expect(fwd.verdict).toBe('delivered');
    expect(fwd.hops.at(-1)!.node.id).toBe('v-app1');
    expect(fwd.hops.find((h) => h.step === 'nat')!.packet).toMatchObject({ dst: '10.2.0.10', dstPort: 80 });
    const fip = traceFlow({ hosts: hs, from: { external: '198.51.100.7' }, to: '203.0.113.10', protocol: 'icmp' });
    expect(fip.hops.at(-1)!.node.id).toBe('v-web2');
    const refused = traceFlow({ hosts: hs, from: { external: '198.51.100.7' }, to: '10.1.0.10', protocol: 'icmp' });
    expect(refused.hops[refused.failedAt!]).toMatchObject({ step: 'nat', verdict: 'drop' });
  });

  it('refuses bad input naming the field', () => {
    expect(() => trace({ from: { vif: 'nope' }, to: '10.1.0.1', protocol: 'icmp' })).toThrow(TraceInputError);
    expect(() => trace({ to: '10.1.0', protocol: 'icmp' })).toThrow(/not an IPv4 address/);
    expect(() => trace({ to: '10.1.0.1', protocol: 'tcp' })).toThrow(/needs a destination port/);
    expect(() => traceFlow({ hosts: states(), from: { external: '1.2.3.4' }, to: '10.1.0.1', protocol: 'icmp' })).toThrow(/no external network leg/);
  });
});
