// What a router or firewall reports about itself (the agent's state view and,
// later, the console's router manager): interfaces, forwarding table, ARP
// caches and counters, addresses as text.
import { cidrToString, ipToString, macToString } from '../wire/index.ts';
import { formatRoute } from './fib.ts';
import type { EthernetInterface } from './iface.ts';
import type { IpNode } from './node.ts';

export interface NodeInterfaceView {
  name: string;
  kind: 'vnet' | 'channel';
  vnet: number | null;
  mac: string | null;
  ip: string;
  mtu: number;
  /** A router's link channel is up while its peer router exists in this agent. */
  up: boolean;
}

export interface NodeView {
  id: string;
  interfaces: NodeInterfaceView[];
  routes: { destination: string; nextHop: string | null; iface: string; metric: number; source: string; text: string }[];
  arp: { iface: string; ip: string; mac: string | null; state: string; ageMs: number; queued: number }[];
  counters: Record<string, number>;
}

export function nodeView(node: IpNode, ethers: ReadonlyMap<string, EthernetInterface>): NodeView {
  const interfaces = node.interfaces().map((i): NodeInterfaceView => {
    const e = ethers.get(i.name);
    return {
      name: i.name,
      kind: e ? 'vnet' : 'channel',
      vnet: e ? e.vnet : null,
      mac: e ? macToString(e.mac) : null,
      ip: cidrToString(i.ip, i.prefixLen),
      mtu: i.mtu,
      up: i.up ?? true,
    };
  });
  const routes = node.fib.routes().map((r) => ({
    destination: cidrToString(r.prefix, r.len),
    nextHop: r.nextHop === null ? null : ipToString(r.nextHop),
    iface: r.iface,
    metric: r.metric,
    source: r.source,
    text: formatRoute(r),
  }));
  const arp = [...ethers.values()].flatMap((e) =>
    e.arp.view().map((a) => ({ iface: e.name, ip: ipToString(a.ip), mac: a.mac === null ? null : macToString(a.mac), state: a.state, ageMs: a.ageMs, queued: a.queued })),
  );
  return { id: node.id, interfaces, routes, arp, counters: node.stats.snapshot() };
}
