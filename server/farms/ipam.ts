// Address management inside one farm: which MACs and IPs a vnet already
// hands out (to VIFs, router interfaces and firewall interfaces alike), the
// next free address when a client leaves one out, automatic vnet ids, and
// point-to-point prefixes for inter-router links.
import { randomBytes } from 'node:crypto';
import { badRequest, conflict } from '../errors.ts';
import { FARM_VNID_MAX } from '../../contract/limits.ts';
import type { Tx } from './farmAccess.ts';
import {
  broadcastOf, checkHostAddress, cidrsOverlap, formatIpv4, makeCidr, parseCidr, requireIpv4, requireMac,
  VNET_PREFIX, VNID_AUTO_START, type Cidr,
} from './validate.ts';

/** Everything handed out on one vnet; labels say who holds an address, for error messages. */
export interface AddressSpace {
  vnetName: string;
  cidr: Cidr;
  ips: Map<number, string>;
  macs: Map<string, string>;
}

export function newAddressSpace(vnetName: string, cidrText: string): AddressSpace {
  // Stored CIDRs were validated on the way in; a broken one is a bug, not user input.
  const cidr = parseCidr(cidrText, VNET_PREFIX);
  if (!cidr) throw new Error(`vnet ${vnetName} has an invalid stored CIDR ${cidrText}`);
  return { vnetName, cidr, ips: new Map(), macs: new Map() };
}

/** Validates a requested address and records it: inside the CIDR, not network/broadcast, not taken. */
export function claimIp(space: AddressSpace, field: string, text: string, label: string): string {
  const ip = requireIpv4(field, text);
  checkHostAddress(field, ip, space.cidr, `vnet ${space.vnetName}`);
  const holder = space.ips.get(ip);
  if (holder !== undefined) {
    throw conflict(field, `${formatIpv4(ip)} is already used on vnet ${space.vnetName} by ${holder}`, { usedBy: holder });
  }
  space.ips.set(ip, label);
  return formatIpv4(ip);
}

export function claimMac(space: AddressSpace, field: string, text: string, label: string): string {
  const mac = requireMac(field, text);
  const holder = space.macs.get(mac);
  if (holder !== undefined) {
    throw conflict(field, `${mac} is already used on vnet ${space.vnetName} by ${holder}`, { usedBy: holder });
  }
  space.macs.set(mac, label);
  return mac;
}

/**
 * The next free host address. Stations take the lowest free one; routers and
 * firewalls take the highest, so gateways end up at the top of the prefix
 * (x.x.x.254 on a /24) and never collide with the hosts counting up.
 */
export function allocateIp(space: AddressSpace, field: string, label: string, from: 'low' | 'high' = 'low'): string {
  const first = space.cidr.network + 1;
  const last = broadcastOf(space.cidr) - 1;
  // At most |used| + 1 steps: the loop stops at the first address nobody holds.
  if (from === 'low') {
    for (let ip = first; ip <= last; ip++) if (!space.ips.has(ip)) return take(space, ip, label);
  } else {
    for (let ip = last; ip >= first; ip--) if (!space.ips.has(ip)) return take(space, ip, label);
  }
  throw conflict(field, `vnet ${space.vnetName} (${space.cidr.text}) has no free address left`);
}

function take(space: AddressSpace, ip: number, label: string): string {
  space.ips.set(ip, label);
  return formatIpv4(ip);
}

/** Prefix of automatic MACs: 02 = locally administered unicast (IEEE 802 U/L bit set, I/G clear), 5d = SoftUDC. */
export const AUTO_MAC_PREFIX = '02:5d';

export type RandomSource = (size: number) => Uint8Array;

/** A locally administered `02:5d:xx:xx:xx:xx` MAC that no one on the vnet holds yet. */
export function allocateMac(space: AddressSpace, label: string, random: RandomSource = randomBytes): string {
  for (;;) {
    const b = random(4);
    const mac = `${AUTO_MAC_PREFIX}:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
    if (!space.macs.has(mac)) {
      space.macs.set(mac, label);
      return mac;
    }
  }
}

/** Forget one holder's addresses (before an update re-claims them). */
export function releaseAddresses(space: AddressSpace, ip: string | null, mac: string | null): void {
  if (ip !== null) {
    const n = requireIpv4('ip', ip);
    space.ips.delete(n);
  }
  if (mac !== null) space.macs.delete(mac);
}

export const vifLabel = (vm: string, vif: string) => `VM ${vm} (${vif})`;
export const routerLabel = (router: string) => `router ${router}`;
export const firewallLabel = (firewall: string, iface: string) => `firewall ${firewall} (${iface})`;

/** Reads what a stored vnet hands out, across VIFs, router interfaces and firewall interfaces. */
export async function loadAddressSpace(tx: Tx, vnet: { id: string; name: string; cidr: string }): Promise<AddressSpace> {
  const space = newAddressSpace(vnet.name, vnet.cidr);
  // One query after the other: a transaction is one connection, and pg refuses overlapping queries on it.
  const vifs = await tx.vif.findMany({ where: { vnetId: vnet.id }, select: { ip: true, mac: true, name: true, vm: { select: { name: true } } } });
  const rifs = await tx.routerInterface.findMany({ where: { vnetId: vnet.id }, select: { ip: true, mac: true, router: { select: { name: true } } } });
  const fifs = await tx.firewallInterface.findMany({
    where: { vnetId: vnet.id },
    select: { ip: true, mac: true, name: true, firewall: { select: { name: true } } },
  });
  const add = (ip: string, mac: string, label: string) => {
    const n = requireIpv4('ip', ip);
    space.ips.set(n, label);
    space.macs.set(mac, label);
  };
  for (const v of vifs) add(v.ip, v.mac, vifLabel(v.vm.name, v.name));
  for (const r of rifs) add(r.ip, r.mac, routerLabel(r.router.name));
  for (const f of fifs) add(f.ip, f.mac, firewallLabel(f.firewall.name, f.name));
  return space;
}

/** Lowest free vnet ids at or above `start`, skipping every id in `used`. */
export function allocateVnids(used: Iterable<number>, count: number, field = 'vnid', start = VNID_AUTO_START): number[] {
  const taken = new Set(used);
  const out: number[] = [];
  for (let v = start; out.length < count; v++) {
    if (v > FARM_VNID_MAX) throw conflict(field, 'no free vnet id left');
    if (!taken.has(v)) out.push(v);
  }
  return out;
}

/**
 * Inter-router links take /30 prefixes from the link-local block
 * (RFC 3927, 169.254.0.0/16) unless the client picks one: these addresses
 * never leave the farm's routers, so they cannot clash with a tenant's plan.
 */
export const LINK_POOL: Cidr = makeCidr(0xa9fe_0000, 16);
export const LINK_PREFIX_LEN = 30;

export function allocateLinkCidr(occupied: Cidr[], field = 'cidr'): { cidr: Cidr; ipA: string; ipB: string } {
  const step = 2 ** (32 - LINK_PREFIX_LEN);
  const end = broadcastOf(LINK_POOL);
  for (let net = LINK_POOL.network; net < end; net += step) {
    const c = makeCidr(net, LINK_PREFIX_LEN);
    if (!occupied.some((o) => cidrsOverlap(o, c))) return { cidr: c, ipA: formatIpv4(net + 1), ipB: formatIpv4(net + 2) };
  }
  throw badRequest(field, `no free /${LINK_PREFIX_LEN} left in ${LINK_POOL.text}; give a cidr`);
}

export interface AddressRequest {
  /** Field prefix of the request, e.g. `vifs.1`; errors name `<field>.ip` / `<field>.mac` (plain `ip` / `mac` when empty). */
  field: string;
  vnet: { id: string; name: string; cidr: string };
  ip?: string | null | undefined;
  mac?: string | null | undefined;
  label: string;
  from: 'low' | 'high';
}

/**
 * Addresses for several new holders at once (a VM with its VIFs, a router
 * with its interfaces): requested ones are claimed first, then the omitted
 * ones are picked, so an automatic pick never takes an address requested
 * further down the same list.
 */
export async function assignAddresses(tx: Tx, reqs: AddressRequest[]): Promise<{ ip: string; mac: string }[]> {
  const spaces = new Map<string, AddressSpace>();
  for (const r of reqs) if (!spaces.has(r.vnet.id)) spaces.set(r.vnet.id, await loadAddressSpace(tx, r.vnet));
  const out = reqs.map(() => ({ ip: '', mac: '' }));
  const at = (r: AddressRequest, name: string) => (r.field ? `${r.field}.${name}` : name);
  reqs.forEach((r, i) => {
    const space = spaces.get(r.vnet.id)!;
    if (r.ip !== undefined && r.ip !== null) out[i]!.ip = claimIp(space, at(r, 'ip'), r.ip, r.label);
    if (r.mac !== undefined && r.mac !== null) out[i]!.mac = claimMac(space, at(r, 'mac'), r.mac, r.label);
  });
  reqs.forEach((r, i) => {
    const space = spaces.get(r.vnet.id)!;
    if (!out[i]!.ip) out[i]!.ip = allocateIp(space, at(r, 'ip'), r.label, r.from);
    if (!out[i]!.mac) out[i]!.mac = allocateMac(space, r.label);
  });
  return out;
}

/** New addresses for an existing holder: its own current ones do not count as taken. */
export async function reassignAddresses(
  tx: Tx,
  r: { vnet: { id: string; name: string; cidr: string }; current: { ip: string; mac: string }; ip?: string | undefined; mac?: string | undefined; label: string },
): Promise<{ ip: string; mac: string }> {
  const space = await loadAddressSpace(tx, r.vnet);
  releaseAddresses(space, r.current.ip, r.current.mac);
  const ip = r.ip === undefined ? r.current.ip : claimIp(space, 'ip', r.ip, r.label);
  const mac = r.mac === undefined ? r.current.mac : claimMac(space, 'mac', r.mac, r.label);
  return { ip, mac };
}
