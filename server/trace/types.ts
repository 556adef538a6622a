// The packet trace's input and output (issue 16, "Packet trace"): a flow
// from a VIF (or an external address) to an IP, protocol and port, walked
// hop by hop through a farm's compiled desired states. Pure data: the engine
// (engine.ts) reads host states and writes hops; live evidence is added by
// the console (server/control/trace.ts) from what agents report.
import type { HostState } from '../../contract/hostState.ts';

export const TRACE_PROTOCOLS = ['tcp', 'udp', 'icmp'] as const;
export type TraceProtocol = (typeof TRACE_PROTOCOLS)[number];

/** The parts of a host's desired state the trace reads. */
export type TraceState = Pick<HostState, 'vnets' | 'vifs' | 'routers' | 'firewalls' | 'securityGroups' | 'addressSets'>;

export interface TraceHost {
  /** The host's database id. */
  id: string;
  name: string;
  /** Its care-of address (underlay). */
  address: string;
  state: TraceState;
}

export type TraceSource = { vif: string } | { external: string };

export interface TraceRequest {
  hosts: TraceHost[];
  from: TraceSource;
  to: string;
  protocol: TraceProtocol;
  /** Destination port, TCP and UDP. */
  port?: number | null;
  /** Routes running routers learnt by RIP (live mode asks them), added to their tables as the agent would. */
  learnt?: LearntRoute[];
}

export interface LearntRoute {
  router: string;
  /** `a.b.c.d/len`. */
  destination: string;
  nextHop: string | null;
  /** The agent's interface name (`vnet<id>`, `link:<peer>`). */
  iface: string;
  metric: number;
}

export type HopStep = 'port-security' | 'security-group' | 'switch' | 'router' | 'firewall' | 'nat' | 'external' | 'deliver';
export type HopVerdict = 'pass' | 'drop' | 'deliver' | 'unknown';
export type NodeKind = 'vif' | 'vnet' | 'router' | 'firewall' | 'external';

/** What decided a hop: a firewall rule, a security-group rule, a route, a table entry or a default. */
export interface Decider {
  kind: 'rule' | 'default' | 'security-rule' | 'route' | 'entry' | 'nat';
  /** Rule index (firewall), `group/rule` ids (security group), the route's prefix, or null. */
  ref: string | number | null;
  text: string;
}

export interface TracePacket {
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
}

export interface TraceHop {
  step: HopStep;
  verdict: HopVerdict;
  host: { id: string; name: string } | null;
  node: { kind: NodeKind; id: string; name: string };
  /** One sentence: what happened and why. */
  reason: string;
  decidedBy: Decider | null;
  /** The packet as it leaves this hop (NAT rewrites it). */
  packet: TracePacket;
  /** The live evidence for this hop (live mode). */
  live?: { state: string; agrees: boolean } | undefined;
}

export interface TraceResult {
  verdict: 'delivered' | 'dropped' | 'unknown';
  /** The hop that decided a drop (or an unknown), else null. */
  failedAt: number | null;
  flow: { protocol: TraceProtocol; src: string; dst: string; port: number | null };
  hops: TraceHop[];
  live: boolean;
}
