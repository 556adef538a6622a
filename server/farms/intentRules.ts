// Pure rules for routers, inter-router links and firewalls, shared by the
// single-entity services and the whole-document import so both refuse the
// same things with the same messages.
import { RIP_METRIC_MAX, RIP_METRIC_MIN } from '../../contract/limits.ts';
import { badRequest } from '../errors.ts';
import type { CompileFirewallRule } from '../compile/index.ts';
import {
  ANY_PREFIX, checkHostAddress, checkPortRange, cidrContains, cidrsOverlap, formatIpv4, makeCidr, requireCidr, requireIpv4,
  type Cidr,
} from './validate.ts';

/** One prefix a router or firewall is directly connected to. */
export interface Connected {
  /** Vnet id (or name, in a document) for interfaces; null for links. */
  vnet: string | null;
  vnetName: string;
  prefix: Cidr;
  /** The node's own address on that prefix. */
  ip: number;
  fieldVnet: string;
  fieldIp: string;
}

/**
 * A forwarding node's interfaces sit on distinct vnets and their connected
 * prefixes never overlap; otherwise longest-prefix match could not tell which
 * interface an address lives behind. Later entries are the ones blamed.
 */
export function checkConnected(entries: Connected[], node: string): void {
  for (let i = 1; i < entries.length; i++) {
    const e = entries[i]!;
    for (let j = 0; j < i; j++) {
      const o = entries[j]!;
      if (e.vnet !== null && e.vnet === o.vnet) {
        throw badRequest(e.fieldVnet, `${node} already has an interface on vnet ${e.vnetName}`);
      }
      if (cidrsOverlap(e.prefix, o.prefix)) {
        throw badRequest(
          e.fieldIp,
          `${formatIpv4(e.ip)}/${e.prefix.prefixLen} overlaps ${o.prefix.text} (${o.vnet === null ? o.vnetName || 'link' : `vnet ${o.vnetName}`}) on ${node}`,
        );
      }
    }
  }
}

/** The connected prefix of an interface, checking the address is a usable host address of it. */
export function interfacePrefix(fieldIp: string, ip: number, prefixLen: number): Cidr {
  const prefix = makeCidr(ip, prefixLen);
  checkHostAddress(fieldIp, ip, prefix, 'its own prefix');
  return prefix;
}


export interface StaticRouteInput {
  destination: string;
  nextHop: string;
  metric?: number | undefined;
}

export function checkStaticRoute(
  route: StaticRouteInput,
  connected: Connected[],
  router: string,
  field: (name: string) => string,
): { destination: string; nextHop: string; metric: number } {
  const dest = requireCidr(field('destination'), route.destination, ANY_PREFIX);
  const hop = requireIpv4(field('nextHop'), route.nextHop);
  const metric = route.metric ?? 1;
  // RFC 2453 3.6: 16 is infinity, so a larger static metric could not be redistributed.
  if (!Number.isInteger(metric) || metric < RIP_METRIC_MIN || metric > RIP_METRIC_MAX) {
    throw badRequest(field('metric'), `${metric} is outside ${RIP_METRIC_MIN}–${RIP_METRIC_MAX}`);
  }
  const on = connected.find((c) => cidrContains(c.prefix, hop));
  if (!on) {
    const list = connected.map((c) => c.prefix.text).join(', ') || 'none';
    throw badRequest(field('nextHop'), `${formatIpv4(hop)} is not on a prefix router ${router} is connected to (${list})`);
  }
  if (on.ip === hop) throw badRequest(field('nextHop'), `${formatIpv4(hop)} is router ${router}'s own address`);
  if (connected.some((c) => c.prefix.network === dest.network && c.prefix.prefixLen === dest.prefixLen)) {
    throw badRequest(field('destination'), `${dest.text} is already connected to router ${router}`);
  }
  return { destination: dest.text, nextHop: formatIpv4(hop), metric };
}

export interface LinkInput {
  cidr?: string | null | undefined;
  ipA?: string | null | undefined;
  ipB?: string | null | undefined;
}

/** A client-chosen link prefix: /30 or /31, two distinct usable addresses, clear of everything in the farm. */
export function checkLinkAddresses(
  link: LinkInput & { cidr: string },
  occupied: { prefix: Cidr; what: string }[],
  field: (name: string) => string,
): { cidr: Cidr; ipA: string; ipB: string } {
  const cidr = requireCidr(field('cidr'), link.cidr, { min: 30, max: 31 });
  const clash = occupied.find((o) => cidrsOverlap(o.prefix, cidr));
  if (clash) throw badRequest(field('cidr'), `${cidr.text} overlaps ${clash.prefix.text} (${clash.what})`);
  // /31 (RFC 3021) has no network or broadcast address: both addresses are usable.
  const first = cidr.prefixLen === 31 ? cidr.network : cidr.network + 1;
  const pick = (name: 'ipA' | 'ipB', dflt: number) => {
    const text = link[name];
    if (text === undefined || text === null) return dflt;
    const ip = requireIpv4(field(name), text);
    checkHostAddress(field(name), ip, cidr, 'the link');
    return ip;
  };
  const a = pick('ipA', first);
  const b = pick('ipB', a === first ? first + 1 : first);
  if (a === b) throw badRequest(field('ipB'), `${formatIpv4(b)} is the same as ipA`);
  return { cidr, ipA: formatIpv4(a), ipB: formatIpv4(b) };
}

// ---- firewall rules ----

export const FIREWALL_ACTIONS = ['allow', 'deny'] as const;
export const FIREWALL_PROTOCOLS = ['any', 'tcp', 'udp', 'icmp'] as const;
export type FirewallActionName = (typeof FIREWALL_ACTIONS)[number];
export type FirewallProtocolName = (typeof FIREWALL_PROTOCOLS)[number];

export interface RuleInput {
  action: FirewallActionName;
  protocol?: FirewallProtocolName | undefined;
  source?: string | undefined;
  destination?: string | undefined;
  portFrom?: number | null | undefined;
  portTo?: number | null | undefined;
  interface?: string | null | undefined;
  log?: boolean | undefined;
  description?: string | undefined;
}

/** A checked rule: what hosts run (compile's rule), and its description. */
export interface NormalRule extends CompileFirewallRule {
  action: FirewallActionName;
  protocol: FirewallProtocolName;
  description: string;
}

/** Checks one rule against the firewall's interface names and fills in defaults. */
export function checkRule(rule: RuleInput, interfaceNames: readonly string[], firewall: string, field: (name: string) => string): NormalRule {
  const protocol = rule.protocol ?? 'any';
  const source = requireCidr(field('source'), rule.source ?? '0.0.0.0/0', ANY_PREFIX).text;
  const destination = requireCidr(field('destination'), rule.destination ?? '0.0.0.0/0', ANY_PREFIX).text;
  const portFrom = rule.portFrom ?? null;
  const portTo = checkPortRange(protocol, portFrom, rule.portTo ?? null, field);
  const iface = rule.interface ?? null;
  if (iface !== null && !interfaceNames.includes(iface)) {
    const known = interfaceNames.length ? [...interfaceNames].sort().join(', ') : 'none';
    throw badRequest(field('interface'), `firewall ${firewall} has no interface named "${iface}" (it has: ${known})`);
  }
  return {
    action: rule.action,
    protocol,
    source,
    destination,
    portFrom,
    portTo,
    interface: iface,
    log: rule.log ?? false,
    description: rule.description ?? '',
  };
}
