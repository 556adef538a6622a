// The trace engine: walks one new flow through a farm's compiled host states
// the way the agents carry it, hop by hop: the source VIF's port security and
// egress security groups, the switch of its vnet (a local port, or the host
// VARP resolves the destination MAC to), each router's or firewall's
// forwarding table, a firewall's rules (first match, else the default
// policy, decided by the agent's own matcher), NAT on external legs, the
// destination VIF's ingress groups, delivery. Pure: no database, no agent.
import { formatRoute } from '../../agent/ipnode/fib.ts';
import { compileRules, matchRule } from '../../agent/firewall/rules.ts';
import type { Flow } from '../../agent/firewall/flow.ts';
import { inPrefix, ipToString, parseCidr, parseIp } from '../../agent/wire/addr.ts';
import type { StateFirewall, StateVif } from '../../contract/hostState.ts';
import { checkGroups, type GroupFlow } from './groups.ts';
import { egressNat, ingressNat } from './nat.ts';
import { Topology, type IpNode, type NodeIface, type Port } from './topology.ts';
import type { Decider, HopStep, HopVerdict, NodeKind, TraceHop, TraceHost, TraceRequest, TraceResult } from './types.ts';

/** A guest's first TTL; every router or firewall on the way takes one (a loop ends in "TTL exceeded"). */
const TTL = 64;
/** The source port of the traced flow (TCP/UDP), and the echo identifier of ICMP. */
export const TRACE_SRC_PORT = 40_000;
const PROTO = { tcp: 6, udp: 17, icmp: 1 } as const;

export class TraceInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

interface Packet {
  src: number;
  dst: number;
  srcPort: number | null;
  dstPort: number | null;
}

class Walk {
  readonly hops: TraceHop[] = [];
  ttl = TTL;
  readonly origin: number;
  constructor(
    readonly topo: Topology,
    readonly req: TraceRequest,
    public pkt: Packet,
  ) {
    this.origin = pkt.src;
  }

  hop(step: HopStep, verdict: HopVerdict, host: TraceHost | null, node: { kind: NodeKind; id: string; name: string }, reason: string, decidedBy: Decider | null = null): boolean {
    const p = this.pkt;
    this.hops.push({
      step, verdict, host: host ? { id: host.id, name: host.name } : null, node, reason, decidedBy,
      packet: { src: ipToString(p.src), dst: ipToString(p.dst), srcPort: p.srcPort, dstPort: p.dstPort },
    });
    return verdict === 'pass';
  }

  groupFlow(): GroupFlow {
    const icmp = this.req.protocol === 'icmp';
    return { protocol: this.req.protocol, src: this.pkt.src, dst: this.pkt.dst, dstPort: this.pkt.dstPort, icmpType: icmp ? 8 : null, icmpCode: icmp ? 0 : null };
  }

  /** The firewall engine's view of the flow's first packet (a TCP SYN, a UDP datagram, an echo request). */
  firewallFlow(): Flow {
    const p = this.pkt;
    const icmp = this.req.protocol === 'icmp';
    return {
      protocol: PROTO[this.req.protocol], src: p.src, dst: p.dst,
      srcPort: icmp ? TRACE_SRC_PORT : (p.srcPort ?? 0), dstPort: icmp ? 0 : (p.dstPort ?? 0),
      hasPorts: true, tcpFlags: this.req.protocol === 'tcp' ? 0x02 : 0, icmpType: icmp ? 8 : -1,
      laterFragment: false, firstFragment: false, ipId: 0, length: 60, l4: 20, l4Len: 40,
    };
  }
}

const vifNode = (v: StateVif) => ({ kind: 'vif' as const, id: v.id, name: v.name ?? v.id });
const nodeRef = (n: IpNode) => ({ kind: n.kind, id: n.id, name: n.name });

function portText(p: Port): string {
  return p.kind === 'vif' ? `VIF ${p.vif.name ?? p.vif.id}` : `${p.node.kind} ${p.node.name} (${p.iface.name})`;
}

export function traceFlow(req: TraceRequest): TraceResult {
  const topo = new Topology(req.hosts, req.learnt);
  const dst = parseTarget(req.to);
  const port = req.protocol === 'icmp' ? null : (req.port ?? null);
  if (req.protocol !== 'icmp' && port === null) throw new TraceInputError('port', `a ${req.protocol} trace needs a destination port`);
  let walk: Walk;
  if ('vif' in req.from) {
    const src = topo.vifs.get(req.from.vif);
    if (!src) throw new TraceInputError('from', `VIF ${req.from.vif} is not deployed on any host of the farm`);
    walk = new Walk(topo, req, { src: parseCidr(src.vif.ip).ip, dst, srcPort: port === null ? null : TRACE_SRC_PORT, dstPort: port });
    fromVif(walk, src.vif, src.host);
  } else {
    const from = parseTarget(req.from.external);
    walk = new Walk(topo, req, { src: from, dst, srcPort: port === null ? null : TRACE_SRC_PORT, dstPort: port });
    fromExternal(walk);
  }
  const hops = walk.hops;
  const last = hops[hops.length - 1];
  const failed = hops.findIndex((h) => h.verdict === 'drop' || h.verdict === 'unknown');
  return {
    verdict: last?.verdict === 'deliver' ? 'delivered' : last?.verdict === 'unknown' ? 'unknown' : 'dropped',
    failedAt: failed < 0 ? null : failed,
    flow: { protocol: req.protocol, src: ipToString(walk.origin), dst: req.to, port },
    hops,
    live: false,
  };
}

function parseTarget(text: string): number {
  try {
    return parseIp(text);
  } catch {
    throw new TraceInputError('to', `"${text}" is not an IPv4 address a.b.c.d`);
  }
}

function fromVif(w: Walk, vif: StateVif, host: TraceHost): void {
  const c = parseCidr(vif.ip);
  w.hop('port-security', 'pass', host, vifNode(vif), `the guest sends from its bound MAC ${vif.mac} and address ${ipToString(c.ip)}; anything else would be dropped here`, {
    kind: 'entry', ref: vif.id, text: `binding ${vif.mac} ${ipToString(c.ip)}`,
  });
  if (!groups(w, vif, host, 'egress')) return;
  let nextHop = w.pkt.dst;
  if (!inPrefix(w.pkt.dst, c.network, c.prefixLen)) {
    if (!vif.gateway) {
      w.hop('switch', 'drop', host, vnetNode(w, vif.vnet), `${ipToString(w.pkt.dst)} is outside ${vif.ip} and the VIF has no gateway`);
      return;
    }
    nextHop = parseIp(vif.gateway);
  }
  l2(w, vif.vnet, host, nextHop, nextHop !== w.pkt.dst);
}

function vnetNode(w: Walk, vnet: number) {
  const v = w.topo.vnets.get(vnet);
  return { kind: 'vnet' as const, id: String(vnet), name: v?.spec.name ?? `vnet ${vnet}` };
}

/** Security groups of `vif` in one direction; false when they drop the flow. */
function groups(w: Walk, vif: StateVif, host: TraceHost, direction: 'ingress' | 'egress'): boolean {
  const g = checkGroups(vif, [...w.topo.groups.values()], direction, w.groupFlow(), w.topo.addressSets);
  if (!g.filtered) return true;
  if (g.allowed) return w.hop('security-group', 'pass', host, vifNode(vif), `${direction} allowed by a rule of the VIF's groups`, g.decidedBy);
  const list = g.groups.length ? g.groups.map((id) => w.topo.groups.get(id)?.name ?? id).join(', ') : 'none (an empty list)';
  return w.hop('security-group', 'drop', host, vifNode(vif), `no ${direction} rule of the VIF's groups (${list}) allows this flow`, {
    kind: 'default', ref: null, text: `security groups: a new flow needs an ${direction} rule; none matches`,
  });
}

/** The switch of `vnet` on `host` carries the packet to whoever owns `nextHop`. */
function l2(w: Walk, vnet: number, host: TraceHost, nextHop: number, viaGateway: boolean): void {
  const owner = w.topo.owner(vnet, nextHop);
  const node = vnetNode(w, vnet);
  if (!owner) {
    const what = viaGateway ? `the gateway ${ipToString(nextHop)}` : ipToString(nextHop);
    w.hop('switch', 'drop', host, node, `nothing on the vnet has ${what}: ARP goes unanswered`);
    return;
  }
  const where = owner.host.id === host.id
    ? `a local port on ${host.name}`
    : `host ${owner.host.name} (${owner.host.address}), which VARP resolves MAC ${owner.mac} to`;
  w.hop('switch', 'pass', host, node, `${ipToString(nextHop)} is ${portText(owner)}, MAC ${owner.mac}: ${where}`, {
    kind: 'entry', ref: owner.mac, text: `vnet ${vnet} MAC ${owner.mac} -> ${owner.host.name}`,
  });
  arrive(w, owner);
}

function arrive(w: Walk, p: Port): void {
  if (p.kind === 'node') return atNode(w, p.node, p.iface);
  const vif = p.vif;
  if (parseCidr(vif.ip).ip !== w.pkt.dst) {
    w.hop('deliver', 'drop', p.host, vifNode(vif), `the frame reaches VIF ${vif.name ?? vif.id}, but ${ipToString(w.pkt.dst)} is not its address: a guest does not route`);
    return;
  }
  if (!groups(w, vif, p.host, 'ingress')) return;
  w.hop('deliver', 'deliver', p.host, vifNode(vif), `delivered to VIF ${vif.name ?? vif.id} on ${p.host.name}`);
}

function filter(w: Walk, n: IpNode, ingress: NodeIface, egress: NodeIface | null): boolean {
  if (n.kind !== 'firewall') return true;
  const spec = n.spec as StateFirewall;
  const rule = matchRule(compileRules(spec.rules), w.firewallFlow(), ingress.name);
  const allow = rule ? rule.allow : spec.defaultPolicy === 'allow';
  const out = egress ? `out of ${egress.name}` : 'to the firewall itself';
  const decidedBy: Decider = rule
    ? { kind: 'rule', ref: rule.index, text: `rule ${rule.index + 1}: ${describeFirewallRule(spec.rules[rule.index]!)}` }
    : { kind: 'default', ref: null, text: `default policy ${spec.defaultPolicy}` };
  const why = rule ? `rule ${rule.index + 1} (${rule.spec.action})` : `no rule matches; the default policy is ${spec.defaultPolicy}`;
  return w.hop('firewall', allow ? 'pass' : 'drop', n.host, nodeRef(n), `in by ${ingress.name}, ${out}: ${why}`, decidedBy);
}

export function describeFirewallRule(r: StateFirewall['rules'][number]): string {
  const ports = r.portFrom === null ? '' : r.portTo !== null && r.portTo !== r.portFrom ? ` port ${r.portFrom}-${r.portTo}` : ` port ${r.portFrom}`;
  const via = r.interface === null ? '' : ` in by ${r.interface}`;
  return `${r.action} ${r.protocol} ${r.source} -> ${r.destination}${ports}${via}`;
}

function atNode(w: Walk, n: IpNode, ingress: NodeIface): void {
  if (ingress.nat) {
    const t = ingressNat(ingress, w.pkt, w.req.protocol);
    if (t.kind === 'refused') {
      w.hop('nat', 'drop', n.host, nodeRef(n), t.reason, t.decidedBy);
      return;
    }
    if (t.kind === 'translated') {
      w.pkt = t.pkt;
      w.hop('nat', 'pass', n.host, nodeRef(n), t.reason, t.decidedBy);
    }
  }
  if (n.ifaces.some((i) => i.ip === w.pkt.dst)) {
    if (!filter(w, n, ingress, null)) return;
    w.hop('deliver', 'deliver', n.host, nodeRef(n), `${ipToString(w.pkt.dst)} is the ${n.kind}'s own address`);
    return;
  }
  if (--w.ttl <= 0) {
    w.hop(n.kind, 'drop', n.host, nodeRef(n), 'TTL exceeded: the routes form a loop');
    return;
  }
  const route = n.fib.lookup(w.pkt.dst);
  if (!route) {
    const unresolved = n.unresolved.length ? `; not installed (next hop on no connected prefix): ${n.unresolved.join(', ')}` : '';
    if (n.rip) {
      w.hop(n.kind, 'unknown', n.host, nodeRef(n), `no designed route to ${ipToString(w.pkt.dst)}; routes learnt by RIP are only known live (trace with live)${unresolved}`);
    } else {
      w.hop(n.kind, 'drop', n.host, nodeRef(n), `no route to ${ipToString(w.pkt.dst)} (ICMP net unreachable)${unresolved}`, { kind: 'route', ref: null, text: 'no route' });
    }
    return;
  }
  const egress = n.ifaces.find((i) => i.name === route.iface)!;
  const routeText = formatRoute(route);
  const decidedBy: Decider = { kind: 'route', ref: `${ipToString(route.prefix)}/${route.len}`, text: routeText };
  const source = route.source === 'rip' ? 'RIP route (learnt, from the live router)' : `${route.source} route`;
  if (n.kind === 'router') w.hop('router', 'pass', n.host, nodeRef(n), `in by ${ingress.name}, out of ${egress.name}: ${source}`, decidedBy);
  if (!filter(w, n, ingress, egress)) return;
  if (n.kind === 'firewall') w.hops[w.hops.length - 1]!.reason += ` (forwarded by ${routeText})`;
  if (egress.nat) {
    const t = egressNat(egress, w.pkt, w.req.protocol);
    if (t.kind === 'translated') {
      w.pkt = t.pkt;
      w.hop('nat', 'pass', n.host, nodeRef(n), t.reason, t.decidedBy);
    }
  }
  const nextHop = route.nextHop ?? w.pkt.dst;
  if (egress.vnet !== null && w.topo.vnets.get(egress.vnet)?.spec.external) {
    const leg = w.topo.vnets.get(egress.vnet)!.spec.external!;
    const owner = w.topo.owner(egress.vnet, nextHop);
    if (!owner) {
      w.hop('external', 'deliver', n.host, { kind: 'external', id: String(egress.vnet), name: w.topo.vnets.get(egress.vnet)!.spec.name ?? `vnet ${egress.vnet}` },
        `leaves the farm on the external network (host interface ${leg.interface}${leg.vid === null ? '' : ` VLAN ${leg.vid}`}) towards ${ipToString(nextHop)}`);
      return;
    }
  }
  if (egress.peer !== undefined) return overLink(w, n, egress);
  l2(w, egress.vnet!, n.host, nextHop, route.nextHop !== null);
}

function overLink(w: Walk, n: IpNode, egress: NodeIface): void {
  const peer = w.topo.nodes.get(egress.peer!);
  if (!peer) {
    w.hop('router', 'drop', n.host, nodeRef(n), `the link to router ${egress.peer} leads nowhere: the peer is not deployed`);
    return;
  }
  const back = peer.ifaces.find((i) => i.peer === n.id);
  if (!back) {
    w.hop('router', 'drop', n.host, nodeRef(n), `router ${peer.name} has no link back to ${n.name}`);
    return;
  }
  const how = egress.vnet === null ? 'in-process channel (same host)' : `link vnet ${egress.vnet} to ${peer.host.name} (${peer.host.address})`;
  w.hop('switch', 'pass', n.host, { kind: 'vnet', id: String(egress.vnet ?? 'channel'), name: `link ${n.name}-${peer.name}` }, `over the ${how}`, {
    kind: 'entry', ref: peer.id, text: `link ${egress.name}`,
  });
  atNode(w, peer, back);
}

function fromExternal(w: Walk): void {
  const legs = w.topo.legs();
  if (!legs.length) throw new TraceInputError('from', 'the farm has no external network leg for an external address to come in by');
  const src = w.pkt.src;
  const leg = legs.find((l) => inPrefix(src, l.iface.network, l.iface.prefixLen) && l.iface.nat?.floatingIps.some((f) => parseIp(f.external) === w.pkt.dst))
    ?? legs.find((l) => l.iface.nat && (l.iface.nat.floatingIps.some((f) => parseIp(f.external) === w.pkt.dst) || l.iface.nat.portForwards.some((p) => parseIp(p.external) === w.pkt.dst)))
    ?? legs.find((l) => l.iface.ip === w.pkt.dst)
    ?? legs.find((l) => inPrefix(src, l.iface.network, l.iface.prefixLen))
    ?? legs[0]!;
  const ext = leg.iface.vnet !== null ? w.topo.vnets.get(leg.iface.vnet)?.spec.external : undefined;
  w.hop('external', 'pass', leg.node.host, { kind: 'external', id: String(leg.iface.vnet), name: w.topo.vnets.get(leg.iface.vnet ?? -1)?.spec.name ?? 'external' },
    `from ${ipToString(src)} on the external network${ext ? ` (host interface ${ext.interface})` : ''} to ${leg.node.kind} ${leg.node.name} (${leg.iface.name})`);
  atNode(w, leg.node, leg.iface);
}
