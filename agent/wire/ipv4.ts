// IPv4 header (RFC 791). Decoding verifies the header checksum; the payload
// is cut at Total Length so Ethernet padding never leaks into upper layers.
import {
  IP_DEFAULT_TTL,
  IPV4_CHECKSUM_OFFSET,
  IPV4_DST_OFFSET,
  IPV4_MAX_HEADER_LEN,
  IPV4_MAX_TOTAL_LEN,
  IPV4_MIN_HEADER_LEN,
  IPV4_PROTOCOL_OFFSET,
  IPV4_SRC_OFFSET,
  IPV4_TTL_OFFSET,
} from './constants.ts';
import { internetChecksum, updateChecksum } from './checksum.ts';
import { isValidIp } from './addr.ts';
import { WireError, need } from './errors.ts';

export { internetChecksum } from './checksum.ts';

const VERSION_IHL_OFFSET = 0;
const TOS_OFFSET = 1;
const TOTAL_LEN_OFFSET = 2;
const ID_OFFSET = 4;
const FLAGS_FRAG_OFFSET = 6;
const FRAG_OFFSET_MASK = 0x1fff;

export interface Ipv4Packet {
  /** Header length in bytes (IHL x 4). */
  headerLength: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  id: number;
  /** 3 bits: reserved, DF (2), MF (1). */
  flags: number;
  /** In 8-byte units, as on the wire. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: number;
  dst: number;
  options: Buffer;
  payload: Buffer;
}

export interface Ipv4Input {
  dscp?: number;
  ecn?: number;
  id?: number;
  flags?: number;
  fragmentOffset?: number;
  ttl?: number;
  protocol: number;
  src: number;
  dst: number;
  options?: Buffer;
  payload: Buffer;
}

export function decodeIpv4(buf: Buffer): Ipv4Packet {
  need(buf, IPV4_MIN_HEADER_LEN, 'IPv4');
  const vihl = buf[VERSION_IHL_OFFSET]!;
  if (vihl >>> 4 !== 4) throw new WireError('BAD_VERSION', `IPv4 version: ${vihl >>> 4}`);
  const headerLength = (vihl & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER_LEN) throw new WireError('BAD_HEADER', `IPv4 IHL: ${headerLength / 4} < 5`);
  need(buf, headerLength, 'IPv4 header with options');
  const totalLength = buf.readUInt16BE(TOTAL_LEN_OFFSET);
  if (totalLength < headerLength) {
    throw new WireError('BAD_LENGTH', `IPv4 total length ${totalLength} < header length ${headerLength}`);
  }
  if (totalLength > buf.length) {
    throw new WireError('TRUNCATED', `IPv4 total length ${totalLength} > ${buf.length} bytes received`);
  }
  if (internetChecksum(buf, 0, headerLength) !== 0) throw new WireError('BAD_CHECKSUM', 'IPv4 header checksum');
  const tos = buf[TOS_OFFSET]!;
  const ff = buf.readUInt16BE(FLAGS_FRAG_OFFSET);
  return {
    headerLength,
    dscp: tos >>> 2,
    ecn: tos & 3,
    totalLength,
    id: buf.readUInt16BE(ID_OFFSET),
    flags: ff >>> 13,
    fragmentOffset: ff & FRAG_OFFSET_MASK,
    ttl: buf[IPV4_TTL_OFFSET]!,
    protocol: buf[IPV4_PROTOCOL_OFFSET]!,
    checksum: buf.readUInt16BE(IPV4_CHECKSUM_OFFSET),
    src: buf.readUInt32BE(IPV4_SRC_OFFSET),
    dst: buf.readUInt32BE(IPV4_DST_OFFSET),
    options: buf.subarray(IPV4_MIN_HEADER_LEN, headerLength),
    payload: buf.subarray(headerLength, totalLength),
  };
}

export function encodeIpv4(p: Ipv4Input): Buffer {
  const options = p.options ?? Buffer.alloc(0);
  if (options.length % 4 !== 0 || options.length > IPV4_MAX_HEADER_LEN - IPV4_MIN_HEADER_LEN) {
    throw new WireError('BAD_LENGTH', 'IPv4 options: length must be a multiple of 4, at most 40');
  }
  const headerLength = IPV4_MIN_HEADER_LEN + options.length;
  const totalLength = headerLength + p.payload.length;
  if (totalLength > IPV4_MAX_TOTAL_LEN) throw new WireError('BAD_LENGTH', `IPv4 total length ${totalLength} > 65535`);
  const dscp = field(p.dscp ?? 0, 0x3f, 'dscp');
  const ecn = field(p.ecn ?? 0, 3, 'ecn');
  const flags = field(p.flags ?? 0, 7, 'flags');
  const frag = field(p.fragmentOffset ?? 0, FRAG_OFFSET_MASK, 'fragmentOffset');
  if (!isValidIp(p.src)) throw new WireError('BAD_ADDRESS', 'IPv4 src: not an IPv4 address');
  if (!isValidIp(p.dst)) throw new WireError('BAD_ADDRESS', 'IPv4 dst: not an IPv4 address');
  const out = Buffer.allocUnsafe(totalLength);
  out[VERSION_IHL_OFFSET] = 0x40 | (headerLength / 4);
  out[TOS_OFFSET] = (dscp << 2) | ecn;
  out.writeUInt16BE(totalLength, TOTAL_LEN_OFFSET);
  out.writeUInt16BE(field(p.id ?? 0, 0xffff, 'id'), ID_OFFSET);
  out.writeUInt16BE((flags << 13) | frag, FLAGS_FRAG_OFFSET);
  out[IPV4_TTL_OFFSET] = field(p.ttl ?? IP_DEFAULT_TTL, 0xff, 'ttl');
  out[IPV4_PROTOCOL_OFFSET] = field(p.protocol, 0xff, 'protocol');
  out.writeUInt16BE(0, IPV4_CHECKSUM_OFFSET);
  out.writeUInt32BE(p.src, IPV4_SRC_OFFSET);
  out.writeUInt32BE(p.dst, IPV4_DST_OFFSET);
  options.copy(out, IPV4_MIN_HEADER_LEN);
  out.writeUInt16BE(internetChecksum(out, 0, headerLength), IPV4_CHECKSUM_OFFSET);
  p.payload.copy(out, headerLength);
  return out;
}

/**
 * Decrements the TTL of the IPv4 header at `offset` in place and patches the
 * header checksum incrementally (RFC 1624), as a forwarding router must.
 * Returns the new TTL. The caller drops (and answers Time Exceeded) when the
 * TTL it read was 0 or 1; a TTL of 0 here is a BAD_HEADER.
 */
export function decrementTtl(buf: Buffer, offset = 0): number {
  need(buf, offset + IPV4_MIN_HEADER_LEN, 'IPv4');
  const ttl = buf[offset + IPV4_TTL_OFFSET]!;
  if (ttl === 0) throw new WireError('BAD_HEADER', 'IPv4 ttl: already 0');
  const oldWord = buf.readUInt16BE(offset + IPV4_TTL_OFFSET); // TTL and protocol share one word
  const newWord = oldWord - 0x100;
  const sum = buf.readUInt16BE(offset + IPV4_CHECKSUM_OFFSET);
  buf[offset + IPV4_TTL_OFFSET] = ttl - 1;
  buf.writeUInt16BE(updateChecksum(sum, oldWord, newWord), offset + IPV4_CHECKSUM_OFFSET);
  return ttl - 1;
}

function field(v: number, max: number, name: string): number {
  if (!(Number.isInteger(v) && v >= 0 && v <= max)) throw new WireError('BAD_HEADER', `IPv4 ${name}: must be 0..${max}`);
  return v;
}
