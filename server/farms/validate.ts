// Pure parsers and checks for the values farm intent is made of: names, MAC
// addresses, IPv4 addresses, CIDR prefixes, vnet ids, MTUs and port numbers.
// `parseX` returns null on bad input; `requireX(field, value)` throws a
// BAD_REQUEST AppError whose message starts with the field and says why.
import { isIfname } from '../../contract/fields.ts';
import { FARM_VNID_MAX, GUEST_MTU_DEFAULT, VID_MAX, VID_MIN, VNID_MIN } from '../../contract/limits.ts';
import { badRequest } from '../errors.ts';

/** The host-side limits are the contract's (contract/limits.ts). */
export { GUEST_MTU_DEFAULT as MTU_DEFAULT, VID_MAX, VID_MIN, VNID_MIN };

/** Names of farms, vnets, VMs, routers, firewalls and interfaces. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const NAME_MAX = 63;

export function checkName(field: string, name: string): string {
  if (name.length < 1 || name.length > NAME_MAX) throw badRequest(field, `must be 1–${NAME_MAX} characters`);
  if (!NAME_PATTERN.test(name)) {
    throw badRequest(field, `"${name}" must start with a letter or digit and contain only letters, digits, "_", "." and "-"`);
  }
  return name;
}

// ---- vnet ids and MTU ----

/** Automatic vnet ids start here, leaving the low numbers for hand-picked ones. */
export const VNID_AUTO_START = 100;

export function checkVnid(field: string, vnid: number): number {
  if (!Number.isInteger(vnid) || vnid < VNID_MIN || vnid > FARM_VNID_MAX) {
    throw badRequest(field, `${vnid} is outside ${VNID_MIN}–${FARM_VNID_MAX} (0 is invalid, 1 is the physical network, the ids above are router links)`);
  }
  return vnid;
}

export function checkVid(field: string, vid: number): number {
  if (!Number.isInteger(vid) || vid < VID_MIN || vid > VID_MAX) throw badRequest(field, `${vid} is outside ${VID_MIN}–${VID_MAX}`);
  return vid;
}

export function checkInterfaceName(field: string, name: string): string {
  if (!isIfname(name)) throw badRequest(field, `"${name}" is not an interface name (1 to 15 of A-Z a-z 0-9 _ . -)`);
  return name;
}

/** Guest MTU bounds: IPv4's minimum datagram size up to jumbo frames. */
export const MTU_MIN = 576;
export const MTU_MAX = 9000;

export function checkMtu(field: string, mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < MTU_MIN || mtu > MTU_MAX) throw badRequest(field, `${mtu} is outside ${MTU_MIN}–${MTU_MAX}`);
  return mtu;
}

// ---- MAC addresses ----

const MAC_SEPARATED = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;
const MAC_BARE = /^[0-9a-f]{12}$/i;
const MAC_DOTTED = /^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i;

/** Accepts `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff` or `aabbccddeeff`; returns lower-case colon form. */
export function parseMac(text: string): string | null {
  let hex: string | null = null;
  const sep = MAC_SEPARATED.exec(text);
  if (sep) hex = [sep[1], sep[3], sep[4], sep[5], sep[6], sep[7]].join('');
  else if (MAC_BARE.test(text)) hex = text;
  else {
    const dotted = MAC_DOTTED.exec(text);
    if (dotted) hex = `${dotted[1]}${dotted[2]}${dotted[3]}`;
  }
  if (hex === null) return null;
  hex = hex.toLowerCase();
  return hex.match(/../g)!.join(':');
}

/** IEEE 802: bit 0 of the first octet is the I/G bit; set means a group (multicast/broadcast) address. */
export function isUnicastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 0x01) === 0;
}

/** IEEE 802: bit 1 of the first octet is the U/L bit; set means locally administered. */
export function isLocallyAdministeredMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 0x02) !== 0;
}

export function requireMac(field: string, text: string): string {
  const mac = parseMac(text.trim());
  if (mac === null) throw badRequest(field, `"${text}" is not a MAC address (expected six hex octets, e.g. 02:5d:00:00:00:0a)`);
  if (!isUnicastMac(mac)) throw badRequest(field, `${mac} is a multicast/broadcast address; a VIF needs a unicast MAC (I/G bit clear)`);
  if (mac === '00:00:00:00:00:00') throw badRequest(field, 'the all-zero MAC is not a valid station address');
  return mac;
}

// ---- IPv4 ----

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted quad to an unsigned 32-bit number. Octets with leading zeros are refused (octal ambiguity). */
export function parseIpv4(text: string): number | null {
  const m = IPV4.exec(text);
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part.startsWith('0')) return null;
    const v = Number(part);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export function requireIpv4(field: string, text: string): number {
  const n = parseIpv4(text.trim());
  if (n === null) throw badRequest(field, `"${text}" is not an IPv4 address (a.b.c.d)`);
  return n;
}

// ---- CIDR prefixes ----

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  network: number;
  prefixLen: number;
  /** Canonical text, e.g. `10.7.0.0/24`. */
  text: string;
}

export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffff_ffff << (32 - prefixLen)) >>> 0;
}

export function makeCidr(address: number, prefixLen: number): Cidr {
  const network = (address & maskOf(prefixLen)) >>> 0;
  return { network, prefixLen, text: `${formatIpv4(network)}/${prefixLen}` };
}

export function broadcastOf(c: Cidr): number {
  return (c.network | (~maskOf(c.prefixLen) >>> 0)) >>> 0;
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefixLen)) >>> 0) === c.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const shorter = Math.min(a.prefixLen, b.prefixLen);
  const m = maskOf(shorter);
  return ((a.network & m) >>> 0) === ((b.network & m) >>> 0);
}

/** Number of host addresses, i.e. excluding the network and broadcast address where they exist. */
export function hostCount(c: Cidr): number {
  const size = 2 ** (32 - c.prefixLen);
  return c.prefixLen >= 31 ? size : size - 2;
}

export interface CidrBounds {
  min: number;
  max: number;
}

/** A vnet's prefix: at least /8 (a bigger broadcast domain is a mistake), at most /30 (room for two hosts). */
export const VNET_PREFIX: CidrBounds = { min: 8, max: 30 };
/** Rule and route prefixes: anything from the default route to a single host. */
export const ANY_PREFIX: CidrBounds = { min: 0, max: 32 };

/** Parses `a.b.c.d/n`; null when the syntax is wrong, the prefix is out of bounds or host bits are set. */
export function parseCidr(text: string, bounds: CidrBounds = ANY_PREFIX): Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === null || !/^\d{1,2}$/.test(lenText)) return null;
  const len = Number(lenText);
  if (len < bounds.min || len > bounds.max) return null;
  const c = makeCidr(ip, len);
  return c.network === ip ? c : null;
}

export function requireCidr(field: string, text: string, bounds: CidrBounds = ANY_PREFIX): Cidr {
  const t = text.trim();
  const slash = t.indexOf('/');
  const ip = slash < 0 ? null : parseIpv4(t.slice(0, slash));
  const lenText = slash < 0 ? '' : t.slice(slash + 1);
  if (ip === null || !/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) {
    throw badRequest(field, `"${text}" is not an IPv4 CIDR prefix (a.b.c.d/n)`);
  }
  const len = Number(lenText);
  if (len < bounds.min || len > bounds.max) throw badRequest(field, `prefix length /${len} is outside /${bounds.min}–/${bounds.max}`);
  const c = makeCidr(ip, len);
  if (c.network !== ip) throw badRequest(field, `${t} has host bits set; the network address is ${c.text}`);
  return c;
}

export function checkPrefixLen(field: string, len: number, bounds: CidrBounds = VNET_PREFIX): number {
  if (!Number.isInteger(len) || len < bounds.min || len > bounds.max) {
    throw badRequest(field, `/${len} is outside /${bounds.min}–/${bounds.max}`);
  }
  return len;
}

/**
 * An address for a station on `cidr`: inside it and, where the prefix has
 * them (/30 and shorter), neither its network nor its broadcast address.
 */
export function checkHostAddress(field: string, ip: number, cidr: Cidr, what = 'the vnet'): void {
  const shown = formatIpv4(ip);
  if (!cidrContains(cidr, ip)) throw badRequest(field, `${shown} is outside ${what} ${cidr.text}`);
  if (cidr.prefixLen <= 30) {
    if (ip === cidr.network) throw badRequest(field, `${shown} is the network address of ${cidr.text}`);
    if (ip === broadcastOf(cidr)) throw badRequest(field, `${shown} is the broadcast address of ${cidr.text}`);
  }
}

// ---- ports ----

export const PORT_MIN = 1;
export const PORT_MAX = 65535;

export function checkPort(field: string, port: number): number {
  if (!Number.isInteger(port) || port < PORT_MIN || port > PORT_MAX) {
    throw badRequest(field, `${port} is outside ${PORT_MIN}–${PORT_MAX}`);
  }
  return port;
}

/** Sorts `eth2` before `eth10`: names compared by their text, then by embedded numbers. */
export function naturalCompare(a: string, b: string): number {
  const ra = /^(.*?)(\d+)$/.exec(a);
  const rb = /^(.*?)(\d+)$/.exec(b);
  if (ra && rb && ra[1] === rb[1]) return Number(ra[2]) - Number(rb[2]);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A rule's destination port range (firewall rules, security group rules):
 * ports only for tcp and udp, `portFrom` required with `portTo`, each a port,
 * `portTo` not below `portFrom`. Returns `portTo`, `portFrom` when only it was given.
 */
export function checkPortRange(protocol: string, portFrom: number | null, portTo: number | null, field: (name: string) => string): number | null {
  if (portFrom === null && portTo === null) return null;
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw badRequest(field(portFrom !== null ? 'portFrom' : 'portTo'), `ports apply only to tcp and udp, not ${protocol}`);
  }
  if (portFrom === null) throw badRequest(field('portFrom'), 'required when portTo is given');
  checkPort(field('portFrom'), portFrom);
  const to = portTo ?? portFrom;
  checkPort(field('portTo'), to);
  if (to < portFrom) throw badRequest(field('portTo'), `${to} is lower than portFrom ${portFrom}`);
  return to;
}
