// `trace.lookup` (contract/traceLookup.ts): this agent's real state for a live
// packet trace — the VARP cache entry or local port of (vnet, MAC), a router's
// or firewall's forwarding-table lookup, a firewall's rule hit counters and
// the connection-tracking entry of the traced flow.
import { formatRoute } from '../ipnode/fib.ts';
import { cidrToString, ipToString, parseIp, parseMac } from '../wire/index.ts';
import type { TraceLookupArgs, TraceLookupData } from '../../contract/traceLookup.ts';
import type { VarpEntryView } from '../varp/types.ts';
import type { VirtualFirewall } from '../firewall/index.ts';
import type { VirtualRouter } from '../router/index.ts';

/** What the lookup needs of the switch and VARP (agent/daemon/agent.ts `traceVarp`). */
export interface TraceVarp {
  /** The port attached here with this MAC on the vnet, or null. */
  local(vnet: number, mac: number): string | null;
  entry(vnet: number, mac: number): VarpEntryView | undefined;
}

interface Nodes {
  router(id: string): VirtualRouter | undefined;
  firewall(id: string): VirtualFirewall | undefined;
}

const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };

export function traceLookup(nodes: Nodes, varp: TraceVarp | null, a: TraceLookupArgs): TraceLookupData {
  return {
    varp: a.varp.map((q) => {
      const mac = parseMac(q.mac);
      const e = varp?.entry(q.vnet, mac);
      return {
        vnet: q.vnet, mac: q.mac, local: varp?.local(q.vnet, mac) ?? null,
        entry: e ? { coa: ipToString(e.coa), port: e.port, state: e.state, version: e.version, ageMs: Math.max(0, Math.round(e.ageMs)), proxy: e.proxy } : null,
      };
    }),
    routes: a.routes.map((q) => {
      const n = q.kind === 'router' ? nodes.router(q.id) : nodes.firewall(q.id);
      const r = n?.node.fib.lookup(parseIp(q.destination));
      return {
        kind: q.kind, id: q.id, destination: q.destination, running: n !== undefined,
        route: r ? { destination: cidrToString(r.prefix, r.len), nextHop: r.nextHop === null ? null : ipToString(r.nextHop), iface: r.iface, source: r.source, text: formatRoute(r).slice(0, 200) } : null,
      };
    }),
    firewalls: a.firewalls.map((id) => {
      const f = nodes.firewall(id);
      if (!f) return { id, running: false, rules: [], defaultHits: 0, connection: null };
      const v = f.view();
      const flow = a.flow;
      const c = flow
        ? v.connections.find((x) => x.protocol === PROTO[flow.protocol] && x.from.startsWith(`${flow.src}:`) && (flow.dstPort === null ? x.to.startsWith(`${flow.dst}:`) : x.to === `${flow.dst}:${flow.dstPort}`))
        : undefined;
      return {
        id, running: true, rules: v.rules.map((r) => ({ index: r.index, hits: r.hits })), defaultHits: v.defaultHits,
        connection: c ? { from: c.from, to: c.to, state: c.state, rule: c.rule, packets: c.packets, expiresInMs: Math.round(c.expiresInMs) } : null,
      };
    }),
  };
}
