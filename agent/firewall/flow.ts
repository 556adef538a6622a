// The fields a firewall decides on, read in place from an IPv4 packet into a
// reused object (no allocation per packet): protocol, addresses, ports or the
// ICMP echo identifier, TCP flags, fragment position.
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST } from '../wire/index.ts';
import { IP_DST_OFFSET, IP_FLAGS_FRAG_OFFSET, IP_ID_OFFSET, IP_PROTOCOL_OFFSET, IP_SRC_OFFSET } from '../ipnode/index.ts';

/** RFC 793 3.1 control bits. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;
const TCP_FLAGS_OFFSET = 13;
const TCP_MIN_LEN = 14; // through the flags byte
const PORTS_LEN = 4;
const ICMP_MIN_LEN = 8;
const ICMP_ID_OFFSET = 4;

/** RFC 792: the ICMP errors that quote a datagram, and are "related" to its connection. */
export const ICMP_ERROR_TYPES: ReadonlySet<number> = new Set([3, 4, 5, 11, 12]);

export interface Flow {
  protocol: number;
  src: number;
  dst: number;
  /** TCP/UDP ports; for ICMP echo the identifier as srcPort (request) or dstPort (reply), so replies match in reverse. */
  srcPort: number;
  dstPort: number;
  /** Ports (or an echo id) were read: rules with port ranges can apply, connections can be tracked. */
  hasPorts: boolean;
  tcpFlags: number;
  icmpType: number;
  /** A fragment after the first: no transport header. */
  laterFragment: boolean;
  /** The first fragment of a fragmented datagram (more follow). */
  firstFragment: boolean;
  ipId: number;
  length: number;
  /** Where the transport header starts in the buffer (for ICMP errors: the quoted datagram follows at +8). */
  l4: number;
  l4Len: number;
}

export function emptyFlow(): Flow {
  return {
    protocol: 0, src: 0, dst: 0, srcPort: 0, dstPort: 0, hasPorts: false, tcpFlags: 0, icmpType: -1,
    laterFragment: false, firstFragment: false, ipId: 0, length: 0, l4: 0, l4Len: 0,
  };
}

/** Reads the packet at `off` (already validated: version, lengths, checksum) into `f`. */
export function readFlow(buf: Buffer, off: number, ihl: number, f: Flow): Flow {
  const total = buf.readUInt16BE(off + 2);
  const ff = buf.readUInt16BE(off + IP_FLAGS_FRAG_OFFSET);
  f.protocol = buf[off + IP_PROTOCOL_OFFSET]!;
  f.src = buf.readUInt32BE(off + IP_SRC_OFFSET);
  f.dst = buf.readUInt32BE(off + IP_DST_OFFSET);
  f.ipId = buf.readUInt16BE(off + IP_ID_OFFSET);
  f.length = total;
  f.laterFragment = (ff & 0x1fff) !== 0;
  f.firstFragment = !f.laterFragment && (ff & 0x2000) !== 0;
  f.srcPort = f.dstPort = f.tcpFlags = 0;
  f.icmpType = -1;
  f.hasPorts = false;
  f.l4 = off + ihl;
  f.l4Len = total - ihl;
  if (f.laterFragment) return f;
  const l4 = f.l4;
  const len = f.l4Len;
  if ((f.protocol === IPPROTO_TCP || f.protocol === IPPROTO_UDP) && len >= PORTS_LEN) {
    f.srcPort = buf.readUInt16BE(l4);
    f.dstPort = buf.readUInt16BE(l4 + 2);
    f.hasPorts = f.protocol === IPPROTO_UDP || len >= TCP_MIN_LEN;
    if (f.protocol === IPPROTO_TCP && len >= TCP_MIN_LEN) f.tcpFlags = buf[l4 + TCP_FLAGS_OFFSET]!;
  } else if (f.protocol === IPPROTO_ICMP && len >= ICMP_MIN_LEN) {
    f.icmpType = buf[l4]!;
    const id = buf.readUInt16BE(l4 + ICMP_ID_OFFSET);
    if (f.icmpType === ICMP_ECHO_REQUEST) {
      f.srcPort = id;
      f.hasPorts = true;
    } else if (f.icmpType === ICMP_ECHO_REPLY) {
      f.dstPort = id;
      f.hasPorts = true;
    }
  }
  return f;
}

/**
 * The datagram an ICMP error quotes (its IP header and first 8 bytes), as a
 * flow, or null when too short. Used to find the connection it relates to.
 */
export function readQuotedFlow(buf: Buffer, outer: Flow, into: Flow): Flow | null {
  const q = outer.l4 + ICMP_MIN_LEN;
  const avail = outer.l4Len - ICMP_MIN_LEN;
  if (avail < 20) return null;
  const vihl = buf[q]!;
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >>> 4 !== 4 || ihl < 20 || avail < ihl + 8) return null;
  into.protocol = buf[q + IP_PROTOCOL_OFFSET]!;
  into.src = buf.readUInt32BE(q + IP_SRC_OFFSET);
  into.dst = buf.readUInt32BE(q + IP_DST_OFFSET);
  into.srcPort = into.dstPort = 0;
  into.hasPorts = false;
  const l4 = q + ihl;
  if (into.protocol === IPPROTO_TCP || into.protocol === IPPROTO_UDP) {
    into.srcPort = buf.readUInt16BE(l4);
    into.dstPort = buf.readUInt16BE(l4 + 2);
    into.hasPorts = true;
  } else if (into.protocol === IPPROTO_ICMP) {
    const t = buf[l4]!;
    const id = buf.readUInt16BE(l4 + ICMP_ID_OFFSET);
    if (t === ICMP_ECHO_REQUEST) into.srcPort = id;
    else if (t === ICMP_ECHO_REPLY) into.dstPort = id;
    into.hasPorts = t === ICMP_ECHO_REQUEST || t === ICMP_ECHO_REPLY;
  }
  return into.hasPorts ? into : null;
}
