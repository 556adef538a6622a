// In-place reads of an IPv4 packet inside a larger buffer (an Ethernet frame,
// or a packet handed over an in-process link), and RFC 791 fragmentation.
// The forwarding path never decodes into objects: it reads the few fields it
// needs where they lie.
import { ETH_HEADER_LEN, IPPROTO_ICMP, IPV4_FLAG_DF, IPV4_FLAG_MF, IPV4_MIN_HEADER_LEN, internetChecksum } from '../wire/index.ts';

/** Bytes reserved in front of every packet a node emits: room for the Ethernet header. */
export const HEADROOM = ETH_HEADER_LEN;

export const IP_TOTAL_LEN_OFFSET = 2;
export const IP_ID_OFFSET = 4;
export const IP_FLAGS_FRAG_OFFSET = 6;
export const IP_TTL_OFFSET = 8;
export const IP_PROTOCOL_OFFSET = 9;
export const IP_CHECKSUM_OFFSET = 10;
export const IP_SRC_OFFSET = 12;
export const IP_DST_OFFSET = 16;
const FRAG_OFFSET_MASK = 0x1fff;
const FRAG_UNIT = 8; // RFC 791: fragment offsets count 8-byte blocks

export const LIMITED_BROADCAST = 0xffffffff;

export function isMulticast(ip: number): boolean {
  return ip >>> 28 === 0xe;
}

/**
 * RFC 1812 5.3.7: a source address a router must not forward from — 0/8
 * ("this network"), 127/8 (loopback), multicast, class E and the limited
 * broadcast address.
 */
export function isMartianSource(ip: number): boolean {
  const top = ip >>> 24;
  return top === 0 || top === 127 || ip >>> 28 >= 0xe;
}

/**
 * Header length of a valid IPv4 packet at `off` (version 4, IHL ≥ 5, total
 * length within the buffer, header checksum good), or 0 when it is not one.
 */
export function validIpv4(buf: Buffer, off: number): number {
  const avail = buf.length - off;
  if (avail < IPV4_MIN_HEADER_LEN) return 0;
  const vihl = buf[off]!;
  if (vihl >>> 4 !== 4) return 0;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < IPV4_MIN_HEADER_LEN || ihl > avail) return 0;
  const total = buf.readUInt16BE(off + IP_TOTAL_LEN_OFFSET);
  if (total < ihl || total > avail) return 0;
  if (internetChecksum(buf, off, off + ihl) !== 0) return 0;
  return ihl;
}

export function fragmentOffset(buf: Buffer, off: number): number {
  return buf.readUInt16BE(off + IP_FLAGS_FRAG_OFFSET) & FRAG_OFFSET_MASK;
}

export function isFragment(buf: Buffer, off: number): boolean {
  const ff = buf.readUInt16BE(off + IP_FLAGS_FRAG_OFFSET);
  return (ff & FRAG_OFFSET_MASK) !== 0 || ((ff >>> 13) & IPV4_FLAG_MF) !== 0;
}

export function dontFragment(buf: Buffer, off: number): boolean {
  return ((buf.readUInt16BE(off + IP_FLAGS_FRAG_OFFSET) >>> 13) & IPV4_FLAG_DF) !== 0;
}

/** RFC 791 3.1: the options a later fragment carries are those with the "copied" flag. */
function copiedOptions(buf: Buffer, start: number, end: number): Buffer {
  const parts: Buffer[] = [];
  let i = start;
  while (i < end) {
    const type = buf[i]!;
    if (type === 0) break; // end of option list
    if (type === 1) {
      i++; // no-operation
      continue;
    }
    const len = i + 1 < end ? buf[i + 1]! : 0;
    if (len < 2 || i + len > end) break; // malformed: carry no more
    if (type & 0x80) parts.push(buf.subarray(i, i + len));
    i += len;
  }
  const raw = Buffer.concat(parts);
  const padded = Buffer.alloc(Math.ceil(raw.length / 4) * 4); // zero padding = end of options
  raw.copy(padded);
  return padded;
}

/**
 * Splits the packet at `off` (header length `ihl`, total `total`) into
 * fragments of at most `mtu` bytes, each with HEADROOM in front and a fresh
 * header checksum. Fragments of a fragment keep its offset and MF flag.
 * Returns [] when the MTU cannot hold a header plus 8 bytes.
 */
export function fragment(buf: Buffer, off: number, ihl: number, total: number, mtu: number): Buffer[] {
  const ff = buf.readUInt16BE(off + IP_FLAGS_FRAG_OFFSET);
  const baseOffset = ff & FRAG_OFFSET_MASK;
  const origMf = ((ff >>> 13) & IPV4_FLAG_MF) !== 0;
  const dataStart = off + ihl;
  const dataLen = total - ihl;
  const laterOptions = copiedOptions(buf, off + IPV4_MIN_HEADER_LEN, off + ihl);
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < dataLen) {
    const first = pos === 0;
    const hl = first ? ihl : IPV4_MIN_HEADER_LEN + laterOptions.length;
    const room = Math.floor((mtu - hl) / FRAG_UNIT) * FRAG_UNIT;
    if (room <= 0) return [];
    const n = Math.min(room, dataLen - pos);
    const last = pos + n >= dataLen;
    const f = Buffer.allocUnsafe(HEADROOM + hl + n);
    const h = HEADROOM;
    buf.copy(f, h, off, off + IPV4_MIN_HEADER_LEN);
    if (first) buf.copy(f, h + IPV4_MIN_HEADER_LEN, off + IPV4_MIN_HEADER_LEN, off + ihl);
    else laterOptions.copy(f, h + IPV4_MIN_HEADER_LEN);
    f[h] = 0x40 | (hl / 4);
    f.writeUInt16BE(hl + n, h + IP_TOTAL_LEN_OFFSET);
    const mf = !last || origMf ? IPV4_FLAG_MF : 0;
    const flags = (ff >>> 13) & ~IPV4_FLAG_MF;
    f.writeUInt16BE(((flags | mf) << 13) | (baseOffset + pos / FRAG_UNIT), h + IP_FLAGS_FRAG_OFFSET);
    f.writeUInt16BE(0, h + IP_CHECKSUM_OFFSET);
    f.writeUInt16BE(internetChecksum(f, h, h + hl), h + IP_CHECKSUM_OFFSET);
    buf.copy(f, h + hl, dataStart + pos, dataStart + pos + n);
    out.push(f);
    pos += n;
  }
  return out;
}

/** ICMP query types (RFC 792, 950): an error is never sent about an ICMP error (RFC 1812 4.3.2.7). */
const ICMP_QUERY_TYPES = new Set([0, 8, 13, 14, 15, 16, 17, 18]);

/**
 * RFC 1812 4.3.2.7: whether the packet at `off` may be answered with an ICMP
 * error — never about broadcasts, multicasts, non-initial fragments, ICMP
 * errors, or odd sources.
 */
export function mayAnswerWithIcmpError(buf: Buffer, off: number, ihl: number, total: number): boolean {
  if (isMartianSource(buf.readUInt32BE(off + IP_SRC_OFFSET))) return false;
  const dst = buf.readUInt32BE(off + IP_DST_OFFSET);
  if (isMulticast(dst) || dst === LIMITED_BROADCAST) return false;
  if (fragmentOffset(buf, off) !== 0) return false;
  return !(buf[off + IP_PROTOCOL_OFFSET] === IPPROTO_ICMP && (total <= ihl || !ICMP_QUERY_TYPES.has(buf[off + ihl]!)));
}
