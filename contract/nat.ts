// An external leg of a router or firewall (issue: farms reach the outside
// world): an interface on an external network's vnet, which the agent bridges
// to a host interface (`vnets[].external`), with NAT. Inside addresses are
// translated to addresses of the external network: SNAT (masquerade with port
// translation) for chosen inside prefixes, floating IPs (one-to-one, both
// ways) and port forwards (external address:port -> inside address:port).
// Connection tracking is the firewall engine's (agent/firewall/conntrack.ts).
// Inbound traffic on an external leg reaches only what a floating IP, a port
// forward or NAT state allows; nothing else is routed inside.
import { z } from 'zod';
import { NAT_MAX_FLOATING_IPS, NAT_MAX_PORT_FORWARDS, NAT_MAX_SNAT_PREFIXES, VID_MAX, VID_MIN } from './limits.ts';
import { doc, ifname, ipv4, mac, network, open } from './fields.ts';

const port = z.number().int().min(1).max(65_535);
export const NAT_PROTOCOLS = ['tcp', 'udp'] as const;

export const floatingIpSchema = open({
  external: doc(ipv4, "an address of the external network's pool; the leg answers ARP for it"),
  internal: doc(ipv4, 'the inside address (a VM) it maps to, both ways: inbound to `external` goes to `internal`, and `internal`\'s outbound leaves from `external`'),
});

export const portForwardSchema = open({
  protocol: doc(z.enum(NAT_PROTOCOLS), 'TCP or UDP'),
  external: doc(ipv4, "the leg's own address or a pool address; the leg answers ARP for it"),
  externalPort: doc(port, { description: 'the port on `external`', docType: '1..65535' }),
  internal: doc(ipv4, 'the inside address (a VM)'),
  internalPort: doc(port, { description: 'the port on `internal`', docType: '1..65535' }),
});

export const natSchema = open({
  snat: doc(z.array(network).max(NAT_MAX_SNAT_PREFIXES).default([]), {
    description: "inside prefixes whose outbound connections leave with the leg's address (masquerade, source ports translated)",
    docType: 'network[]',
  }),
  floatingIps: doc(z.array(floatingIpSchema).max(NAT_MAX_FLOATING_IPS).default([]), 'one-to-one mappings, see below; each `external` and each `internal` once'),
  portForwards: doc(z.array(portForwardSchema).max(NAT_MAX_PORT_FORWARDS).default([]), 'see below; each (`protocol`, `external`, `externalPort`) once'),
}).superRefine((n, ctx) => {
  const ext = new Set<string>();
  const int = new Set<string>();
  n.floatingIps.forEach((f, i) => {
    if (ext.has(f.external)) ctx.addIssue({ code: 'custom', path: ['floatingIps', i, 'external'], message: `floating IP ${f.external} is listed twice` });
    if (int.has(f.internal)) ctx.addIssue({ code: 'custom', path: ['floatingIps', i, 'internal'], message: `${f.internal} already has a floating IP` });
    ext.add(f.external);
    int.add(f.internal);
  });
  const fwd = new Set<string>();
  n.portForwards.forEach((p, i) => {
    const key = `${p.protocol}/${p.external}/${p.externalPort}`;
    if (fwd.has(key)) ctx.addIssue({ code: 'custom', path: ['portForwards', i, 'externalPort'], message: `${p.protocol} ${p.external}:${p.externalPort} is forwarded twice` });
    if (ext.has(p.external)) ctx.addIssue({ code: 'custom', path: ['portForwards', i, 'external'], message: `${p.external} is a floating IP; forward to its VM's own port instead` });
    fwd.add(key);
  });
});

/** `vnets[].external`: the vnet is an external network's leg on this host, bridged to a host interface. */
export const externalUplinkSchema = open({
  interface: doc(ifname, 'the host interface the external network is on (as bound on this host in the console)'),
  vid: doc(z.number().int().min(VID_MIN).max(VID_MAX).nullable().default(null), {
    description: '`null`: untagged on `interface`; a number: that IEEE 802.1Q VLAN of it',
    docType: `${VID_MIN}..${VID_MAX} or \`null\``,
  }),
  mac: doc(mac, "the leg's MAC (the router's or firewall's interface on this vnet): the only unicast MAC the agent takes from the host interface for this vnet"),
});

export type NatSpec = z.output<typeof natSchema>;
export type FloatingIpSpec = z.output<typeof floatingIpSchema>;
export type PortForwardSpec = z.output<typeof portForwardSchema>;
export type ExternalUplinkSpec = z.output<typeof externalUplinkSchema>;
