// Address representations used on the packet path: a MAC is a 48-bit JS number
// (exact in a double), an IPv4 address an unsigned 32-bit number. Both compare
// with === and key Maps without allocating strings.
import { WireError } from './errors.ts';

export const BROADCAST_MAC = 0xffff_ffff_ffff;
const TWO_POW_40 = 2 ** 40;
const MAC_MAX = BROADCAST_MAC;

const MAC_RE = /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/;

export function macToString(mac: number): string {
  const hex = mac.toString(16).padStart(12, '0');
  return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-`); throws BAD_ADDRESS naming the text. */
export function parseMac(text: string): number {
  const m = MAC_RE.exec(text);
  if (!m) throw new WireError('BAD_ADDRESS', `invalid MAC address "${text}"`);
  return parseInt(text.replace(/[:-]/g, ''), 16);
}

export function isValidMac(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAC_MAX;
}

/** IEEE 802: the I/G bit (least significant bit of the first octet) marks group addresses. */
export function isGroupMac(mac: number): boolean {
  return (Math.floor(mac / TWO_POW_40) & 1) === 1;
}

/** IEEE 802: the U/L bit (second bit of the first octet) marks locally administered addresses. */
export function isLocalMac(mac: number): boolean {
  return (Math.floor(mac / TWO_POW_40) & 2) === 2;
}

export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

const OCTET_RE = /^(0|[1-9][0-9]{0,2})$/;

/** Strict dotted quad (no leading zeros, which some parsers read as octal). */
export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new WireError('BAD_ADDRESS', `invalid IPv4 address "${text}"`);
  let ip = 0;
  for (const p of parts) {
    if (!OCTET_RE.test(p)) throw new WireError('BAD_ADDRESS', `invalid IPv4 address "${text}"`);
    const v = Number(p);
    if (v > 255) throw new WireError('BAD_ADDRESS', `invalid IPv4 address "${text}"`);
    ip = ip * 256 + v;
  }
  return ip >>> 0;
}

export function isValidIp(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

export function prefixMask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

export interface Cidr {
  /** The address as written (host bits kept). */
  ip: number;
  prefixLen: number;
  network: number;
  mask: number;
}

/** Parses `a.b.c.d/len`; throws BAD_ADDRESS naming the text. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new WireError('BAD_ADDRESS', `invalid CIDR "${text}": missing /prefix length`);
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]?)$/.test(lenText) || Number(lenText) > 32) {
    throw new WireError('BAD_ADDRESS', `invalid CIDR "${text}": prefix length must be 0..32`);
  }
  const prefixLen = Number(lenText);
  const mask = prefixMask(prefixLen);
  return { ip, prefixLen, network: (ip & mask) >>> 0, mask };
}

export function cidrToString(ip: number, prefixLen: number): string {
  return `${ipToString(ip)}/${prefixLen}`;
}

export function inPrefix(ip: number, network: number, prefixLen: number): boolean {
  const mask = prefixMask(prefixLen);
  return ((ip & mask) >>> 0) === ((network & mask) >>> 0);
}
