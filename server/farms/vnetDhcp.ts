// A vnet's DHCP and DNS settings (docs/operations.md "Addresses and names for
// guests"): on by default; the gateway defaults to a router's or firewall's
// address on the vnet at compile time. Stored as one JSON value on the vnet,
// always in the normalized shape below.
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import { broadcastOf, checkHostAddress, cidrContains, formatIpv4, requireCidr, requireIpv4, type Cidr } from './validate.ts';
import { int32, text } from '../../contract/primitives.ts';
import { DHCP_DNS_SERVERS_MAX, DHCP_LEASE_DEFAULT_S, DHCP_ROUTES_MAX, DHCP_LEASE_MAX_S, DHCP_LEASE_MIN_S, DNS_NAME_MAX_CHARS, isDnsName } from '../../contract/dhcp.ts';

const addressInput = text(64);

/** What the API takes: every field optional (an update changes only those given; `null` clears). */
export const vnetDhcpInput = z.strictObject({
  enabled: z.boolean().optional(),
  gateway: addressInput.nullable().optional(),
  dnsServers: z.array(addressInput).max(DHCP_DNS_SERVERS_MAX).optional(),
  domain: text(DNS_NAME_MAX_CHARS).nullable().optional(),
  leaseTime: int32().optional(),
  /** Classless static routes (option 121): the whole list; `[]` or `null` clears it. */
  routes: z.array(z.strictObject({ destination: addressInput, gateway: addressInput })).max(DHCP_ROUTES_MAX).nullable().optional(),
});
export type VnetDhcpInput = z.infer<typeof vnetDhcpInput>;

export const vnetDhcpView = z.object({
  enabled: z.boolean(),
  /** null: a router's (else a firewall's) address on the vnet, if any. */
  gateway: z.string().nullable(),
  dnsServers: z.array(z.string()),
  domain: z.string().nullable(),
  leaseTime: z.int(),
  /** Classless static routes (option 121, RFC 3442) handed to guests, in order; the default route via the gateway is added by the agent. */
  routes: z.array(z.object({ destination: z.string(), gateway: z.string() })),
});
export type VnetDhcp = z.infer<typeof vnetDhcpView>;

export const DHCP_DEFAULTS: VnetDhcp = { enabled: true, gateway: null, dnsServers: [], domain: null, leaseTime: DHCP_LEASE_DEFAULT_S, routes: [] };

/** The stored value as a view; anything unreadable stored earlier reads as the defaults for that field. */
export function dhcpOfRow(stored: unknown): VnetDhcp {
  const s = (stored && typeof stored === 'object' ? stored : {}) as Record<string, unknown>;
  const r = vnetDhcpView.partial().safeParse(s);
  return { ...DHCP_DEFAULTS, ...(r.success ? Object.fromEntries(Object.entries(r.data).filter(([, v]) => v !== undefined)) : {}) };
}

/** `current` with `input` applied, every field checked against the vnet's prefix; errors name `field.<name>`. */
export function resolveDhcp(field: string, cidr: Cidr, input: VnetDhcpInput | undefined, current: VnetDhcp = DHCP_DEFAULTS): VnetDhcp {
  const out: VnetDhcp = { ...current, dnsServers: [...current.dnsServers], routes: current.routes.map((r) => ({ ...r })) };
  if (input?.enabled !== undefined) out.enabled = input.enabled;
  if (input?.gateway !== undefined) out.gateway = input.gateway === null ? null : input.gateway.trim();
  if (input?.dnsServers !== undefined) out.dnsServers = input.dnsServers.map((d, i) => formatIpv4(requireIpv4(`${field}.dnsServers.${i}`, d)));
  if (input?.domain !== undefined) out.domain = input.domain === null || input.domain.trim() === '' ? null : input.domain.trim().toLowerCase();
  if (input?.leaseTime !== undefined) out.leaseTime = input.leaseTime;
  if (input?.routes !== undefined) out.routes = input.routes ?? [];
  if (out.gateway !== null) {
    const gw = requireIpv4(`${field}.gateway`, out.gateway);
    const host = cidrContains(cidr, gw) && (cidr.prefixLen > 30 || (gw !== cidr.network && gw !== broadcastOf(cidr)));
    if (!host) throw badRequest(`${field}.gateway`, `${formatIpv4(gw)} is not a host address of the vnet's ${formatIpv4(cidr.network)}/${cidr.prefixLen}`);
    out.gateway = formatIpv4(gw);
  }
  // Checked whether given or kept: a new CIDR can leave a kept route's gateway off the vnet.
  out.routes = checkRoutes(`${field}.routes`, cidr, out.routes);
  if (out.domain !== null && !isDnsName(out.domain)) throw badRequest(`${field}.domain`, `"${out.domain}" is not a DNS name (labels of letters, digits and hyphens joined by dots)`);
  if (!Number.isInteger(out.leaseTime) || out.leaseTime < DHCP_LEASE_MIN_S || out.leaseTime > DHCP_LEASE_MAX_S) {
    throw badRequest(`${field}.leaseTime`, `${out.leaseTime} is outside ${DHCP_LEASE_MIN_S}–${DHCP_LEASE_MAX_S} seconds`);
  }
  return out;
}

/**
 * Option 121 routes: each destination a network prefix (no host bits), each
 * gateway a host address on the vnet (the guest must reach it directly), no
 * destination twice; /0 is the default route the gateway setting already gives.
 */
function checkRoutes(field: string, cidr: Cidr, routes: { destination: string; gateway: string }[]): VnetDhcp['routes'] {
  const seen = new Set<string>();
  return routes.map((r, i) => {
    const dest = requireCidr(`${field}.${i}.destination`, r.destination);
    if (dest.prefixLen === 0) throw badRequest(`${field}.${i}.destination`, 'the default route (/0) is the gateway setting, not a static route');
    if (seen.has(dest.text)) throw badRequest(`${field}.${i}.destination`, `${dest.text} is listed twice`);
    seen.add(dest.text);
    const gw = requireIpv4(`${field}.${i}.gateway`, r.gateway);
    checkHostAddress(`${field}.${i}.gateway`, gw, cidr, "the vnet's");
    return { destination: dest.text, gateway: formatIpv4(gw) };
  });
}
