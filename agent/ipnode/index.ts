// The IP layer routers and firewalls share: an IpNode (forwarding table,
// addresses, forwarding, ICMP, local UDP), its interfaces (Ethernet ports on
// vnet switches, with ARP) and their one reconcile, packet helpers, per-node
// counters, the node view, and ping/traceroute from the node's own stack.
export { ArpCache, type ArpOptions } from './arp.ts';
export { Fib, FibError, formatRoute, ADMIN_DISTANCE, type Route, type RouteSource } from './fib.ts';
export { AddressedInterface, EthernetInterface, type NodeInterface, type PacketSink } from './iface.ts';
export { IpNode, type PacketFilter, type SendOptions } from './node.ts';
export { NodeInterfaces, type InterfaceWish, type PortHost } from './ports.ts';
export { NodeHost, type NodeDeps } from './host.ts';
export { NodeStats, type DropReason, type NodeKind } from './stats.ts';
export { nodeView, type NodeView } from './view.ts';
export { EchoSession, ping, traceroute, type PingOptions, type PingResult, type TraceHop } from './probe.ts';
export {
  HEADROOM, IP_DST_OFFSET, IP_FLAGS_FRAG_OFFSET, IP_ID_OFFSET, IP_PROTOCOL_OFFSET, IP_SRC_OFFSET, fragment, isMartianSource, isMulticast,
} from './packet.ts';
