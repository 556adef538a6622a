// In-place rewrites of an IPv4 packet's addresses, ports and ICMP echo
// identifier with incremental checksum updates (RFC 1624 eqn. 3): the IP
// header checksum, the TCP and UDP checksums (whose pseudo-header covers the
// addresses; a zero UDP checksum means "none" and stays zero, RFC 768), and
// the ICMP checksum (which covers the echo identifier, not the addresses).
import { IPPROTO_TCP, IPPROTO_UDP, internetChecksum } from '../wire/index.ts';
import { IP_DST_OFFSET, IP_SRC_OFFSET } from '../ipnode/index.ts';

const IP_CHECKSUM_OFFSET = 10;
const TCP_CHECKSUM_OFFSET = 16;
const UDP_CHECKSUM_OFFSET = 6;
const ICMP_CHECKSUM_OFFSET = 2;
const ICMP_ID_OFFSET = 4;

/** RFC 1624 eqn. 3: the checksum at `at` after a 16-bit word changed from `old` to `now`. */
export function adjust16(buf: Buffer, at: number, old: number, now: number): void {
  let s = (~buf.readUInt16BE(at) & 0xffff) + (~old & 0xffff) + now;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  buf.writeUInt16BE(~s & 0xffff, at);
}

/** The same for a 32-bit word (an address). */
export function adjust32(buf: Buffer, at: number, old: number, now: number): void {
  adjust16(buf, at, old >>> 16, now >>> 16);
  adjust16(buf, at, old & 0xffff, now & 0xffff);
}

/** Where the transport checksum that covers the pseudo-header lies (-1: none, or not in this packet). */
function l4ChecksumAt(protocol: number, l4: number, l4Len: number): number {
  if (protocol === IPPROTO_TCP && l4Len >= TCP_CHECKSUM_OFFSET + 2) return l4 + TCP_CHECKSUM_OFFSET;
  if (protocol === IPPROTO_UDP && l4Len >= UDP_CHECKSUM_OFFSET + 2) return l4 + UDP_CHECKSUM_OFFSET;
  return -1;
}

/**
 * Sets the source or destination address of the IPv4 header at `off`,
 * updating the header checksum and, when `l4` (the transport header, -1 for
 * a later fragment) holds one, the TCP/UDP checksum.
 */
export function setAddress(buf: Buffer, off: number, which: 'src' | 'dst', ip: number, protocol: number, l4: number, l4Len: number): void {
  const at = off + (which === 'src' ? IP_SRC_OFFSET : IP_DST_OFFSET);
  const old = buf.readUInt32BE(at);
  if (old === ip) return;
  buf.writeUInt32BE(ip, at);
  adjust32(buf, off + IP_CHECKSUM_OFFSET, old, ip);
  if (l4 < 0) return;
  const cs = l4ChecksumAt(protocol, l4, l4Len);
  if (cs < 0) return;
  if (protocol === IPPROTO_UDP && buf.readUInt16BE(cs) === 0) return;
  adjust32(buf, cs, old, ip);
  if (protocol === IPPROTO_UDP && buf.readUInt16BE(cs) === 0) buf.writeUInt16BE(0xffff, cs);
}

/** Sets a TCP/UDP port (`which` 0: source, 1: destination), updating the transport checksum. */
export function setPort(buf: Buffer, protocol: number, l4: number, l4Len: number, which: 0 | 1, port: number): void {
  const at = l4 + which * 2;
  const old = buf.readUInt16BE(at);
  if (old === port) return;
  buf.writeUInt16BE(port, at);
  const cs = l4ChecksumAt(protocol, l4, l4Len);
  if (cs < 0) return;
  if (protocol === IPPROTO_UDP && buf.readUInt16BE(cs) === 0) return;
  adjust16(buf, cs, old, port);
  if (protocol === IPPROTO_UDP && buf.readUInt16BE(cs) === 0) buf.writeUInt16BE(0xffff, cs);
}

/** Sets an ICMP echo message's identifier, updating the ICMP checksum. */
export function setEchoId(buf: Buffer, l4: number, l4Len: number, id: number): void {
  if (l4Len < ICMP_ID_OFFSET + 2) return;
  const old = buf.readUInt16BE(l4 + ICMP_ID_OFFSET);
  if (old === id) return;
  buf.writeUInt16BE(id, l4 + ICMP_ID_OFFSET);
  adjust16(buf, l4 + ICMP_CHECKSUM_OFFSET, old, id);
}

/** Recomputes the IPv4 header checksum at `off` from scratch. */
export function refreshIpChecksum(buf: Buffer, off: number, ihl: number): void {
  buf.writeUInt16BE(0, off + IP_CHECKSUM_OFFSET);
  buf.writeUInt16BE(internetChecksum(buf, off, off + ihl), off + IP_CHECKSUM_OFFSET);
}

/** Recomputes an ICMP message's checksum from scratch (ICMP errors: at most 576 bytes). */
export function refreshIcmpChecksum(buf: Buffer, l4: number, l4Len: number): void {
  buf.writeUInt16BE(0, l4 + ICMP_CHECKSUM_OFFSET);
  buf.writeUInt16BE(internetChecksum(buf, l4, l4 + l4Len), l4 + ICMP_CHECKSUM_OFFSET);
}
