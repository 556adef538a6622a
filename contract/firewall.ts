// `firewalls[]` of the host desired state: virtual firewalls (seed 002) the
// console places on a host. Like routers, the agent takes entries one by one
// and refuses a bad one with its path (`firewalls[0].rules[2].portTo`).
import { z } from 'zod';
import { natSchema } from './nat.ts';
import { displayFields, doc, interfaceCidr, itemId, mac, mtu, network, open, vnetRef } from './fields.ts';

const port = z.number().int().min(0).max(65_535);
export const FIREWALL_ACTIONS = ['allow', 'deny'] as const;
export const FIREWALL_PROTOCOLS = ['any', 'tcp', 'udp', 'icmp'] as const;

export const firewallInterfaceSchema = open({
  name: doc(z.string().min(1).max(64), { description: 'what rules name in `interface`, e.g. `outside`, `dmz`, `inside`', docType: 'string, 1..64' }),
  vnet: vnetRef,
  mac: doc(mac, 'unicast, nonzero; unique on the vnet'),
  ip: doc(interfaceCidr, 'a host address of its prefix; guests of the vnet use it as their gateway when no router is on the vnet'),
  mtu: doc(mtu.optional(), { description: 'the interface MTU', docDefault: "the vnet's" }),
  nat: doc(natSchema.optional(), {
    description: 'makes this interface an external leg, as a router\'s (see "External legs and NAT"); rules see the untranslated inside addresses',
    docType: '`{snat, floatingIps, portForwards}`',
    docDefault: 'an ordinary interface',
  }),
});

export const firewallRuleSchema = open({
  action: doc(z.enum(FIREWALL_ACTIONS), 'what a matching new flow gets; an allowed flow opens a connection whose replies pass'),
  protocol: doc(z.enum(FIREWALL_PROTOCOLS).default('any'), 'the IP protocol a packet must have; `any` matches all'),
  source: doc(network.default('0.0.0.0/0'), 'network address (host bits zero) the packet comes from'),
  destination: doc(network.default('0.0.0.0/0'), 'network address (host bits zero) the packet goes to'),
  portFrom: doc(port.nullable().default(null), {
    description: 'destination port range, TCP and UDP only; `portFrom` alone is one port',
    docType: '0..65535 or `null`',
  }),
  portTo: doc(port.nullable().default(null), { description: 'end of the port range; `portTo` alone is refused', docType: '0..65535 or `null`' }),
  interface: doc(z.string().min(1).nullable().default(null), {
    description: 'match only packets entering by this interface',
    docType: 'interface name or `null`',
  }),
  log: doc(z.boolean().default(false), 'log flows this rule denies (rate limited, see `logRate`)'),
  description: doc(z.string().optional(), 'for people; ignored'),
}).superRefine((r, ctx) => {
  if (r.portFrom === null && r.portTo === null) return;
  if (r.protocol !== 'tcp' && r.protocol !== 'udp') {
    ctx.addIssue({ code: 'custom', path: [r.portFrom !== null ? 'portFrom' : 'portTo'], message: `ports apply only to tcp and udp, not ${r.protocol}` });
  }
  if (r.portFrom === null) ctx.addIssue({ code: 'custom', path: ['portFrom'], message: 'required when portTo is given' });
  if (r.portFrom !== null && r.portTo !== null && r.portTo < r.portFrom) {
    ctx.addIssue({ code: 'custom', path: ['portTo'], message: `${r.portTo} is lower than portFrom ${r.portFrom}` });
  }
});

/** Timeouts in milliseconds, after Linux's nf_conntrack (shortened). */
export const conntrackSchema = open({
  synSentMs: doc(z.number().int().positive().optional(), { description: 'a TCP connection whose SYN is unanswered', docDefault: '30000' }),
  establishedMs: doc(z.number().int().positive().optional(), { description: 'an established TCP connection, idle', docDefault: '3600000' }),
  finWaitMs: doc(z.number().int().positive().optional(), { description: 'a TCP connection closing (a FIN seen)', docDefault: '120000' }),
  closedMs: doc(z.number().int().positive().optional(), { description: 'a TCP connection closed by both sides or reset', docDefault: '10000' }),
  udpMs: doc(z.number().int().positive().optional(), { description: 'a UDP flow before a reply', docDefault: '30000' }),
  udpStreamMs: doc(z.number().int().positive().optional(), { description: 'a UDP flow after one', docDefault: '180000' }),
  icmpMs: doc(z.number().int().positive().optional(), { description: 'an ICMP echo exchange', docDefault: '30000' }),
  maxConnections: doc(z.number().int().positive().optional(), {
    description: 'a new flow beyond it is dropped and counted as `conntrack_full`',
    docDefault: '65536',
  }),
});

export const firewallSchema = open({
  id: doc(itemId, "unique among the host's firewalls; the console writes the firewall's database id"),
  ...displayFields,
  defaultPolicy: doc(z.enum(FIREWALL_ACTIONS).default('deny'), 'what happens to a new flow no rule matches'),
  interfaces: doc(z.array(firewallInterfaceSchema).default([]), 'see below; names and vnets unique within the firewall'),
  rules: doc(z.array(firewallRuleSchema).default([]), 'ordered; see below'),
  conntrack: doc(conntrackSchema.optional(), { description: 'connection-tracking timeout overrides (labs and tests), see below', docDefault: 'see below' }),
  logRate: doc(z.number().positive().optional(), { description: 'denied flows logged per second at most', docDefault: '10' }),
  logBurst: doc(z.number().int().positive().optional(), {
    description: 'the burst of `logRate`; the rest are counted in `softudc_firewall_deny_logs_suppressed_total`',
    docDefault: '20',
  }),
}).superRefine((f, ctx) => {
  const names = new Set<string>();
  const vnets = new Set<number>();
  f.interfaces.forEach((i, n) => {
    if (names.has(i.name)) ctx.addIssue({ code: 'custom', path: ['interfaces', n, 'name'], message: `firewall ${f.id} already has an interface named ${i.name}` });
    if (vnets.has(i.vnet)) ctx.addIssue({ code: 'custom', path: ['interfaces', n, 'vnet'], message: `firewall ${f.id} already has an interface on vnet ${i.vnet}` });
    names.add(i.name);
    vnets.add(i.vnet);
  });
  f.rules.forEach((r, n) => {
    if (r.interface !== null && !names.has(r.interface)) {
      const known = [...names].sort().join(', ') || 'none';
      ctx.addIssue({ code: 'custom', path: ['rules', n, 'interface'], message: `firewall ${f.id} has no interface named "${r.interface}" (it has: ${known})` });
    }
  });
});

export type FirewallSpec = z.output<typeof firewallSchema>;
export type FirewallSpecInput = z.input<typeof firewallSchema>;
export type FirewallRuleSpec = z.output<typeof firewallRuleSchema>;
