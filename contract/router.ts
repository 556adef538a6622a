// `routers[]` of the host desired state: virtual routers (seeds 000, 001,
// 004) the console places on a host. The agent takes entries one by one, so
// a bad entry is refused with its path (`routers[0].links[1].local`) and
// skipped while the rest of the state applies.
import { z } from 'zod';
import { parseCidr, parseIp } from '../agent/wire/addr.ts';
import { RIP_METRIC_MAX, RIP_METRIC_MIN } from './limits.ts';
import { natSchema } from './nat.ts';
import { conntrackSchema } from './firewall.ts';
import { displayFields, doc, interfaceCidr, ipv4, isCidr, isIpv4, itemId, mac, mtu, network, open, vnetId, vnetRef } from './fields.ts';

const metric = z.number().int().min(RIP_METRIC_MIN).max(RIP_METRIC_MAX);

export const ripTimersSchema = open({
  updateMs: z.number().int().positive().optional(),
  jitter: z.number().min(0).max(0.5).optional(),
  timeoutMs: z.number().int().positive().optional(),
  garbageMs: z.number().int().positive().optional(),
  triggerMinMs: z.number().int().nonnegative().optional(),
  triggerMaxMs: z.number().int().nonnegative().optional(),
});

export const routerInterfaceSchema = open({
  vnet: vnetRef,
  mac: doc(mac, 'unicast, nonzero; unique on the vnet (port security binds it)'),
  ip: doc(interfaceCidr, 'the interface address; a host address of its prefix (not the network or broadcast address below /31). Its prefix becomes a connected route'),
  rip: doc(z.boolean().default(false), 'run RIPv2 on this interface (RFC 2453: multicast 224.0.0.9, UDP 520, split horizon with poisoned reverse, triggered updates)'),
  mtu: doc(mtu.optional(), {
    description: 'the interface MTU; larger packets are fragmented, or refused with "fragmentation needed" when DF is set',
    docDefault: "the vnet's",
  }),
  nat: doc(natSchema.optional(), {
    description: 'makes this interface an external leg (its vnet has `external`): SNAT, floating IPs and port forwards, see "External legs and NAT" below. Inbound traffic on it reaches only what these and NAT state allow',
    docType: '`{snat, floatingIps, portForwards}`',
    docDefault: 'an ordinary interface',
  }),
});

export const staticRouteSchema = open({
  destination: doc(network, 'a network address (host bits zero); `0.0.0.0/0` is a default route'),
  nextHop: doc(ipv4, "must lie in a connected prefix (an interface or a link); a route whose next hop is not connected is not installed and is listed as unresolved in the router's view"),
  metric: doc(metric.default(1), 'RIP metric when redistributed (RFC 2453 3.6; 16 is infinity)').meta({ docType: `${RIP_METRIC_MIN}..${RIP_METRIC_MAX}` }),
});

export const routerLinkSchema = open({
  peer: doc(itemId, "the other router's `id`"),
  local: doc(interfaceCidr, "this end's address and the link prefix (e.g. `169.254.0.1/30`)"),
  remote: doc(ipv4, "the peer's address; must lie in `local`'s prefix"),
  rip: doc(z.boolean().default(false), 'run RIPv2 over the link'),
  vnet: doc(vnetId.nullable().default(null), {
    description: "`null`: the peer is on this host (in-process channel); a number: the link's point-to-point vnet, which must be in `vnets`",
    docType: 'vnet id or `null`',
  }),
  peerHost: doc(z.string().nullable().default(null), { description: "the peer's host name (informational)", docType: 'string or `null`' }),
});

export const routerSchema = open({
  id: doc(itemId, {
    description:
      "unique among the host's routers; the console writes the router's database id. Counters carry it as the `router` label, and the console's router manager names the router by it",
  }),
  ...displayFields,
  interfaces: doc(z.array(routerInterfaceSchema).default([]), "the router's legs on vnets, see below; at most one per vnet"),
  staticRoutes: doc(z.array(staticRouteSchema).default([]), 'see below'),
  links: doc(z.array(routerLinkSchema).default([]), 'point-to-point links to other routers, see below; at most one per peer'),
  ripTimers: doc(ripTimersSchema.optional(), {
    description:
      'overrides for labs and tests: `updateMs` (30000), `jitter` (1/6 of the update interval), `timeoutMs` (180000), `garbageMs` (120000), `triggerMinMs` (1000), `triggerMaxMs` (5000)',
    docDefault: 'RFC 2453',
  }),
  conntrack: doc(conntrackSchema.optional(), { description: "connection-tracking timeout overrides for the router's NAT (as a firewall's)", docDefault: "the firewall's" }),
}).superRefine((r, ctx) => {
  const vnets = new Set<number>();
  r.interfaces.forEach((i, n) => {
    if (vnets.has(i.vnet)) ctx.addIssue({ code: 'custom', path: ['interfaces', n, 'vnet'], message: `router ${r.id} already has an interface on vnet ${i.vnet}` });
    vnets.add(i.vnet);
  });
  const peers = new Set<string>();
  r.links.forEach((l, n) => {
    if (peers.has(l.peer)) ctx.addIssue({ code: 'custom', path: ['links', n, 'peer'], message: `router ${r.id} already has a link to ${l.peer}` });
    peers.add(l.peer);
    if (isCidr(l.local) && isIpv4(l.remote)) {
      const c = parseCidr(l.local);
      if (((parseIp(l.remote) & c.mask) >>> 0) !== c.network) {
        ctx.addIssue({ code: 'custom', path: ['links', n, 'remote'], message: `${l.remote} is not on the link prefix ${l.local}` });
      }
    }
  });
});

export type RouterSpec = z.output<typeof routerSchema>;
export type RouterSpecInput = z.input<typeof routerSchema>;
export type RouterInterfaceSpec = z.output<typeof routerInterfaceSchema>;
export type RouterLinkSpec = z.output<typeof routerLinkSchema>;
export type StaticRouteSpec = z.output<typeof staticRouteSchema>;
