// The Ethernet/IPv4/UDP wrapping of the local services' packets: the reads a
// guest frame gets before any decode (in place, as port security does), and
// the answer frames the services deliver straight to one guest.
import { ETH_HEADER_LEN, ETHERTYPE_IPV4, IPPROTO_UDP, IPV4_MIN_HEADER_LEN, UDP_HEADER_LEN } from '../wire/constants.ts';
import { encodeEthernet } from '../wire/ethernet.ts';
import { encodeIpv4 } from '../wire/ipv4.ts';
import { encodeUdp } from '../wire/udp.ts';

const ETH_TYPE_OFFSET = 12;
const IP_PROTO_OFFSET = 9;
const IP_DST_OFFSET = 16;

export interface UdpPeek {
  /** Offset of the IPv4 header in the frame. */
  ip: number;
  dst: number;
  srcPort: number;
  dstPort: number;
}

/** The addresses and ports of an untagged IPv4/UDP frame (not verified: the decoders do that), or null. */
export function peekUdp(frame: Buffer): UdpPeek | null {
  if (frame.length < ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN) return null;
  if (frame.readUInt16BE(ETH_TYPE_OFFSET) !== ETHERTYPE_IPV4) return null;
  const ip = ETH_HEADER_LEN;
  if (frame[ip + IP_PROTO_OFFSET] !== IPPROTO_UDP) return null;
  const ihl = (frame[ip]! & 0x0f) * 4;
  if (frame.length < ip + ihl + UDP_HEADER_LEN) return null;
  return { ip, dst: frame.readUInt32BE(ip + IP_DST_OFFSET), srcPort: frame.readUInt16BE(ip + ihl), dstPort: frame.readUInt16BE(ip + ihl + 2) };
}

export interface UdpFrame {
  srcMac: number;
  dstMac: number;
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** An Ethernet frame carrying one UDP datagram, checksums computed. */
export function udpFrame(f: UdpFrame): Buffer {
  const udp = encodeUdp({ srcPort: f.srcPort, dstPort: f.dstPort, payload: f.payload }, { src: f.src, dst: f.dst });
  const ip = encodeIpv4({ protocol: IPPROTO_UDP, src: f.src, dst: f.dst, payload: udp, ttl: 64 });
  return encodeEthernet({ dst: f.dstMac, src: f.srcMac, ethertype: ETHERTYPE_IPV4, payload: ip });
}
