// Virtual routers (seeds 000, 001, 004) and the manager that runs them and
// the firewalls from the desired state.
export { Fib, formatRoute, ADMIN_DISTANCE, type Route, type RouteSource } from './fib.ts';
export { IpNode, type PacketFilter, type SendOptions } from './node.ts';
export { EthernetInterface, type NodeInterface } from './iface.ts';
export { LinkRegistry, ChannelInterface, linkMac, type LinkPlan } from './links.ts';
export { Rip, RIP_DEFAULTS, type RipTimers } from './rip.ts';
export { VirtualRouter, type PortHost, type RouterDeps, type RouterView } from './router.ts';
export { NodeManager, type NodeAttachment, type NodeApplyResult, type NodeState } from './manager.ts';
export { routerSchema, type RouterSpec, type RouterSpecInput } from '../../contract/router.ts';
export { NodeStats, TokenBucket, type DropReason } from './stats.ts';
export type { NodeView } from './view.ts';
export { ping, traceroute, type PingOptions, type PingResult, type TraceHop } from './probe.ts';
