// An index of a farm's compiled host states for the trace: who sits on each
// vnet (VIFs, router and firewall interfaces) with which address and MAC, on
// which host, and each router's and firewall's forwarding table built the
// way the agent builds it (agent/router/router.ts, agent/ipnode/fib.ts).
import { Fib, type Route } from '../../agent/ipnode/fib.ts';
import { inPrefix, parseCidr, parseIp } from '../../agent/wire/addr.ts';
import type { NatSpec } from '../../contract/nat.ts';
import type { StateFirewall, StateRouter, StateSecurityGroup, StateVif, StateVnet } from '../../contract/hostState.ts';
import type { LearntRoute, TraceHost } from './types.ts';

export interface NodeIface {
  /** The name the agent gives it: `vnet<id>` or `link:<peer>` on a router, the interface name on a firewall. */
  name: string;
  /** null: an in-process link to a router on the same host. */
  vnet: number | null;
  mac: string | null;
  ip: number;
  prefixLen: number;
  network: number;
  nat: NatSpec | undefined;
  /** The peer router of a link. */
  peer?: string;
}

export interface IpNode {
  kind: 'router' | 'firewall';
  id: string;
  name: string;
  host: TraceHost;
  ifaces: NodeIface[];
  fib: Fib;
  /** Static routes whose next hop is on no connected prefix (not installed). */
  unresolved: string[];
  rip: boolean;
  spec: StateRouter | StateFirewall;
}

/** Something with an address and a MAC on a vnet. */
export type Port =
  | { kind: 'vif'; vnet: number; ip: number; prefixLen: number; mac: string; host: TraceHost; vif: StateVif }
  | { kind: 'node'; vnet: number; ip: number; prefixLen: number; mac: string; host: TraceHost; node: IpNode; iface: NodeIface };

export class Topology {
  readonly ports = new Map<number, Port[]>();
  readonly vnets = new Map<number, { spec: StateVnet; hosts: TraceHost[] }>();
  readonly nodes = new Map<string, IpNode>();
  readonly vifs = new Map<string, { vif: StateVif; host: TraceHost }>();
  readonly groups = new Map<string, StateSecurityGroup>();
  /** Address sets rules name as `remoteSet` (a remote group's members), by id. */
  readonly addressSets = new Map<string, readonly string[]>();

  constructor(
    readonly hosts: TraceHost[],
    learnt: readonly LearntRoute[] = [],
  ) {
    for (const h of hosts) {
      for (const v of h.state.vnets) {
        const e = this.vnets.get(v.id);
        if (e) e.hosts.push(h);
        else this.vnets.set(v.id, { spec: v, hosts: [h] });
      }
      for (const g of h.state.securityGroups ?? []) this.groups.set(g.id, g);
      for (const a of h.state.addressSets ?? []) this.addressSets.set(a.id, a.addresses);
      for (const v of h.state.vifs) {
        this.vifs.set(v.id, { vif: v, host: h });
        const c = parseCidr(v.ip);
        this.addPort({ kind: 'vif', vnet: v.vnet, ip: c.ip, prefixLen: c.prefixLen, mac: v.mac, host: h, vif: v });
      }
      for (const r of h.state.routers ?? []) this.addNode(routerNode(r, h, learnt.filter((l) => l.router === r.id)));
      for (const f of h.state.firewalls ?? []) this.addNode(firewallNode(f, h));
    }
  }

  private addPort(p: Port): void {
    const list = this.ports.get(p.vnet);
    if (list) list.push(p);
    else this.ports.set(p.vnet, [p]);
  }

  private addNode(n: IpNode): void {
    this.nodes.set(n.id, n);
    for (const i of n.ifaces) {
      if (i.vnet === null || i.mac === null) continue;
      this.addPort({ kind: 'node', vnet: i.vnet, ip: i.ip, prefixLen: i.prefixLen, mac: i.mac, host: n.host, node: n, iface: i });
    }
  }

  /** Who answers ARP for `ip` on `vnet` (the agent's switch suppresses ARP from the same bindings). */
  owner(vnet: number, ip: number): Port | undefined {
    return this.ports.get(vnet)?.find((p) => p.ip === ip);
  }

  /** The external legs: interfaces with NAT, or any interface on a vnet bridged to a host interface. */
  legs(): { node: IpNode; iface: NodeIface }[] {
    const out: { node: IpNode; iface: NodeIface }[] = [];
    for (const n of this.nodes.values()) {
      for (const i of n.ifaces) if (i.nat || (i.vnet !== null && this.vnets.get(i.vnet)?.spec.external)) out.push({ node: n, iface: i });
    }
    return out;
  }
}

function iface(name: string, vnet: number | null, mac: string | null, cidr: string, nat?: NatSpec): NodeIface {
  const c = parseCidr(cidr);
  return { name, vnet, mac, ip: c.ip, prefixLen: c.prefixLen, network: c.network, nat };
}

function connected(fib: Fib, ifaces: NodeIface[]): void {
  for (const i of ifaces) fib.add({ prefix: i.network, len: i.prefixLen, nextHop: null, iface: i.name, metric: 0, source: 'connected' });
}

function routerNode(r: StateRouter, host: TraceHost, learnt: readonly LearntRoute[]): IpNode {
  const ifaces = r.interfaces.map((i) => iface(`vnet${i.vnet}`, i.vnet, i.mac, i.ip, i.nat));
  for (const l of r.links) ifaces.push({ ...iface(`link:${l.peer}`, l.vnet, null, l.local), peer: l.peer });
  const fib = new Fib();
  connected(fib, ifaces);
  const unresolved: string[] = [];
  for (const s of r.staticRoutes) {
    const dest = parseCidr(s.destination);
    const hop = parseIp(s.nextHop);
    const on = ifaces.find((i) => inPrefix(hop, i.network, i.prefixLen) && i.ip !== hop);
    if (!on) {
      unresolved.push(`${s.destination} via ${s.nextHop}`);
      continue;
    }
    fib.add({ prefix: dest.network, len: dest.prefixLen, nextHop: hop, iface: on.name, metric: s.metric, source: 'static' });
  }
  for (const l of learnt) {
    if (!ifaces.some((i) => i.name === l.iface)) continue;
    const dest = parseCidr(l.destination);
    fib.add({ prefix: dest.network, len: dest.prefixLen, nextHop: l.nextHop === null ? null : parseIp(l.nextHop), iface: l.iface, metric: l.metric, source: 'rip' });
  }
  const rip = r.interfaces.some((i) => i.rip) || r.links.some((l) => l.rip);
  return { kind: 'router', id: r.id, name: r.name ?? r.id, host, ifaces, fib, unresolved, rip, spec: r };
}

function firewallNode(f: StateFirewall, host: TraceHost): IpNode {
  const ifaces = f.interfaces.map((i) => iface(i.name, i.vnet, i.mac, i.ip, i.nat));
  const fib = new Fib();
  connected(fib, ifaces);
  return { kind: 'firewall', id: f.id, name: f.name ?? f.id, host, ifaces, fib, unresolved: [], rip: false, spec: f };
}

export type { Route };
