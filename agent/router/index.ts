// Virtual routers (seeds 000, 001, 004): interfaces and in-process links,
// static routes, RIPv2, on the IP layer of agent/ipnode.
export { LinkRegistry, ChannelInterface, linkMac, type LinkPlan } from './links.ts';
export { Rip, RIP_DEFAULTS, type RipTimers } from './rip.ts';
export { VirtualRouter, type RouterDeps, type RouterView } from './router.ts';
export { routerSchema, type RouterSpec, type RouterSpecInput } from '../../contract/router.ts';
