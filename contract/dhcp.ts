// DHCP and DNS for a vnet's guests (docs/operations.md "Addresses and names
// for guests"): what the agent's DHCP server hands out on the host where a VIF
// lives and what the vnet's resolver answers, all from the desired state.
import { z } from 'zod';
import { cidr, doc, ipv4, open } from './fields.ts';
import { DHCP_DNS_SERVERS_MAX, DHCP_ROUTES_MAX } from './limits.ts';

/** Lease bounds in seconds: a minute at least (clients renew at half), a week at most. */
export const DHCP_LEASE_MIN_S = 60;
export const DHCP_LEASE_MAX_S = 604_800;
export const DHCP_LEASE_DEFAULT_S = 3_600;
// In contract/limits.ts, which the web console's forms import without zod.
export { DHCP_DNS_SERVERS_MAX, DHCP_ROUTES_MAX };
export const DNS_NAMES_MAX = 4_096;
/** RFC 1035 section 2.3.4 (253 characters without the trailing dot), labels of letters, digits and hyphens (RFC 1123). */
export const DNS_NAME_MAX_CHARS = 253;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
export const DNS_NAME_PATTERN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'i');
export const isDnsName = (s: string) => s.length <= DNS_NAME_MAX_CHARS && DNS_NAME_PATTERN.test(s);

export const dnsName = doc(z.string().max(DNS_NAME_MAX_CHARS).refine(isDnsName, { message: 'must be a DNS name: labels of letters, digits and hyphens joined by dots' }), {
  docType: 'DNS name',
});

export const dhcpRouteSchema = open({
  destination: doc(cidr, 'the destination network'),
  gateway: doc(ipv4, 'the next hop, on the vnet'),
});

export const dnsRecordSchema = open({
  name: doc(dnsName, 'a host name (the VM\'s); the resolver also answers it inside `domain`'),
  ip: doc(ipv4, 'its address on this vnet (A, and PTR back to the name)'),
});

export const vnetDhcpSchema = open({
  enabled: doc(z.boolean().default(true), 'answer DHCP for this vnet\'s VIFs on this host; `false`: guests configure themselves (and may run their own DHCP server)'),
  gateway: doc(ipv4.optional(), { description: 'the router option (3): the vnet\'s gateway', docDefault: 'none sent' }),
  resolver: doc(ipv4.optional(), {
    description: "the vnet resolver's address: the agent answers ARP and DNS (UDP 53) for it on every host carrying the vnet, and announces it first in the DNS option (6)",
    docDefault: 'no resolver',
  }),
  dnsServers: doc(z.array(ipv4).max(DHCP_DNS_SERVERS_MAX).optional(), { description: 'further DNS servers announced after the resolver', docType: 'IPv4[]' }),
  domain: doc(dnsName.optional(), { description: 'the domain name option (15); the resolver answers `<name>.<domain>` as well as `<name>`', docDefault: 'none' }),
  leaseTime: doc(z.number().int().min(DHCP_LEASE_MIN_S).max(DHCP_LEASE_MAX_S).default(DHCP_LEASE_DEFAULT_S), {
    description: 'lease time in seconds (option 51); renewal at half, rebinding at 7/8',
    docType: `${DHCP_LEASE_MIN_S}..${DHCP_LEASE_MAX_S}`,
  }),
  routes: doc(z.array(dhcpRouteSchema).max(DHCP_ROUTES_MAX).optional(), {
    description: 'classless static routes (option 121, RFC 3442); the default route via `gateway` is added to them, as clients then ignore option 3',
    docType: '`[{destination, gateway}]`',
  }),
  names: doc(z.array(dnsRecordSchema).max(DNS_NAMES_MAX).optional(), {
    description: "what the vnet's resolver answers: the farm's VMs with a VIF on this vnet, wherever they run",
    docType: '`[{name, ip}]`',
  }),
});

export const hostDnsSchema = open({
  upstream: doc(z.array(ipv4).max(DHCP_DNS_SERVERS_MAX).default([]), {
    description: 'resolvers the agent forwards other names to (from the host); none: such queries are answered REFUSED',
    docType: 'IPv4[]',
  }),
});

export type VnetDhcpSpec = z.output<typeof vnetDhcpSchema>;
