// The Ethernet/IPv4/UDP wrapping of the answer frames the local services
// deliver straight to one guest (the reads a guest frame gets before any
// decode are the wire's peekUdp, agent/wire/udp.ts).
import { ETHERTYPE_IPV4, IPPROTO_UDP } from '../wire/constants.ts';
import { encodeEthernet } from '../wire/ethernet.ts';
import { encodeIpv4 } from '../wire/ipv4.ts';
import { encodeUdp } from '../wire/udp.ts';

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
