// UDP (RFC 768) over IPv4: the checksum covers a pseudo-header of source,
// destination, protocol and UDP length. A zero checksum means "none sent";
// a computed zero is sent as 0xffff.
import {
  ETH_HEADER_LEN,
  ETH_TYPE_OFFSET,
  ETHERTYPE_IPV4,
  ETHERTYPE_VLAN,
  IPPROTO_UDP,
  IPV4_DST_OFFSET,
  IPV4_MIN_HEADER_LEN,
  IPV4_PROTOCOL_OFFSET,
  UDP_DST_PORT_OFFSET,
  UDP_HEADER_LEN,
  UDP_SRC_PORT_OFFSET,
  VLAN_TAG_LEN,
} from './constants.ts';
import { internetChecksum } from './checksum.ts';
import { WireError, need } from './errors.ts';

const LENGTH_OFFSET = 4;
const CHECKSUM_OFFSET = 6;
const IPV4_FLAGS_FRAG_OFFSET = 6;
const IPV4_MF = 0x2000;
const IPV4_FRAG_OFFSET_MASK = 0x1fff;
/** 802.1Q, 802.1ad and the pre-standard 0x9100: the tags a guest may put in front of IPv4. */
const VLAN_TYPES: ReadonlySet<number> = new Set([ETHERTYPE_VLAN, 0x88a8, 0x9100]);
/** Deeper stacks are not looked into: such a frame reads as "not UDP" (port security drops any stack). */
const MAX_TAGS = 4;

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  /** The UDP length field (header + payload). */
  length: number;
  checksum: number;
  payload: Buffer;
}

export interface UdpInput {
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** The IPv4 addresses of the enclosing packet, for the pseudo-header. */
export interface PseudoHeader {
  src: number;
  dst: number;
}

export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/**
 * Decodes a UDP datagram (the IPv4 payload). With `ip`, a nonzero checksum is
 * verified (BAD_CHECKSUM); without it the checksum is returned unverified.
 */
export function decodeUdp(buf: Buffer, ip?: PseudoHeader): UdpDatagram {
  need(buf, UDP_HEADER_LEN, 'UDP');
  const length = buf.readUInt16BE(LENGTH_OFFSET);
  if (length < UDP_HEADER_LEN) throw new WireError('BAD_LENGTH', `UDP length ${length} < 8`);
  if (length > buf.length) throw new WireError('TRUNCATED', `UDP length ${length} > ${buf.length} bytes received`);
  const checksum = buf.readUInt16BE(CHECKSUM_OFFSET);
  if (ip && checksum !== 0) {
    const initial = pseudoHeaderSum(ip.src, ip.dst, IPPROTO_UDP, length);
    if (internetChecksum(buf, 0, length, initial) !== 0) throw new WireError('BAD_CHECKSUM', 'UDP checksum');
  }
  return {
    srcPort: buf.readUInt16BE(UDP_SRC_PORT_OFFSET),
    dstPort: buf.readUInt16BE(UDP_DST_PORT_OFFSET),
    length,
    checksum,
    payload: buf.subarray(UDP_HEADER_LEN, length),
  };
}

/** Encodes a UDP datagram; with `ip` the checksum is computed, without it it is 0 (none). */
export function encodeUdp(d: UdpInput, ip?: PseudoHeader): Buffer {
  const length = UDP_HEADER_LEN + d.payload.length;
  if (length > 0xffff) throw new WireError('BAD_LENGTH', `UDP length ${length} > 65535`);
  const out = Buffer.allocUnsafe(length);
  out.writeUInt16BE(port(d.srcPort, 'srcPort'), UDP_SRC_PORT_OFFSET);
  out.writeUInt16BE(port(d.dstPort, 'dstPort'), UDP_DST_PORT_OFFSET);
  out.writeUInt16BE(length, LENGTH_OFFSET);
  out.writeUInt16BE(0, CHECKSUM_OFFSET);
  d.payload.copy(out, UDP_HEADER_LEN);
  if (ip) {
    const sum = internetChecksum(out, 0, length, pseudoHeaderSum(ip.src, ip.dst, IPPROTO_UDP, length));
    out.writeUInt16BE(sum === 0 ? 0xffff : sum, CHECKSUM_OFFSET);
  }
  return out;
}

function port(v: number, name: string): number {
  if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new WireError('BAD_HEADER', `UDP ${name}: must be 0..65535`);
  return v;
}

export interface UdpPeek {
  /** Offset of the IPv4 header in the frame. */
  ip: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  /** The IPv4 packet sits behind one or more VLAN tags. */
  tagged: boolean;
  /** A first fragment (MF set): its UDP header is real, the rest of the datagram is elsewhere. */
  fragment: boolean;
}

/**
 * The IPv4 destination and UDP ports of an Ethernet/IPv4/UDP frame, read in
 * place (not verified: the decoders do that), or null. Looks through VLAN tags
 * (802.1Q, 802.1ad, 0x9100) so a tagged DHCP reply is still seen. A non-first
 * IPv4 fragment has no UDP header and is never read as one (null); a first
 * fragment with MF set is returned with `fragment` set.
 */
export function peekUdp(frame: Buffer): UdpPeek | null {
  if (frame.length < ETH_HEADER_LEN) return null;
  let ip = ETH_HEADER_LEN;
  let type = frame.readUInt16BE(ETH_TYPE_OFFSET);
  for (let tags = 0; VLAN_TYPES.has(type); tags++) {
    if (tags === MAX_TAGS || frame.length < ip + VLAN_TAG_LEN) return null;
    type = frame.readUInt16BE(ip + 2);
    ip += VLAN_TAG_LEN;
  }
  if (type !== ETHERTYPE_IPV4 || frame.length < ip + IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN) return null;
  if (frame[ip + IPV4_PROTOCOL_OFFSET] !== IPPROTO_UDP) return null;
  const ff = frame.readUInt16BE(ip + IPV4_FLAGS_FRAG_OFFSET);
  if ((ff & IPV4_FRAG_OFFSET_MASK) !== 0) return null;
  const ihl = (frame[ip]! & 0x0f) * 4;
  const udp = ip + ihl;
  if (ihl < IPV4_MIN_HEADER_LEN || frame.length < udp + UDP_HEADER_LEN) return null;
  return {
    ip,
    dst: frame.readUInt32BE(ip + IPV4_DST_OFFSET),
    srcPort: frame.readUInt16BE(udp + UDP_SRC_PORT_OFFSET),
    dstPort: frame.readUInt16BE(udp + UDP_DST_PORT_OFFSET),
    tagged: ip !== ETH_HEADER_LEN,
    fragment: (ff & IPV4_MF) !== 0,
  };
}
