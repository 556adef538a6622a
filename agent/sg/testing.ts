// Frames for security group tests and benchmarks: Ethernet + IPv4 with a
// TCP, UDP or ICMP header, written directly (the filter reads fields in
// place and checks no checksum).
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, parseIp } from '../wire/index.ts';

const GUEST_MAC = 0x025d_0000_0001;
const PEER_MAC = 0x025d_0000_0002;

function ipFrame(protocol: number, src: string, dst: string, l4: Buffer, opts: { ipId?: number; fragOffset?: number; moreFragments?: boolean } = {}): Buffer {
  const f = Buffer.alloc(14 + 20 + l4.length);
  f.writeUIntBE(PEER_MAC, 0, 6);
  f.writeUIntBE(GUEST_MAC, 6, 6);
  f.writeUInt16BE(ETHERTYPE_IPV4, 12);
  f[14] = 0x45;
  f.writeUInt16BE(20 + l4.length, 16);
  f.writeUInt16BE(opts.ipId ?? 1, 18);
  f.writeUInt16BE(((opts.moreFragments ? 1 : 0) << 13) | ((opts.fragOffset ?? 0) >>> 3), 20);
  f[22] = 64;
  f[23] = protocol;
  f.writeUInt32BE(parseIp(src), 26);
  f.writeUInt32BE(parseIp(dst), 30);
  l4.copy(f, 34);
  return f;
}

export function tcpFrame(src: string, sport: number, dst: string, dport: number, flags: number, payload = 0): Buffer {
  const h = Buffer.alloc(20 + payload);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h[12] = 5 << 4;
  h[13] = flags;
  return ipFrame(IPPROTO_TCP, src, dst, h);
}

export function udpFrame(src: string, sport: number, dst: string, dport: number, payload = 8, frag: { ipId?: number; fragOffset?: number; moreFragments?: boolean } = {}): Buffer {
  const h = Buffer.alloc(8 + payload);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload, 4);
  return ipFrame(IPPROTO_UDP, src, dst, h, frag);
}

/** An ICMP message; `quoted` (an IPv4 frame from this file) is carried after the 8-byte header, as errors do. */
export function icmpFrame(src: string, dst: string, type: number, code: number, id = 0, quoted?: Buffer): Buffer {
  const q = quoted ? quoted.subarray(14, 14 + 28) : Buffer.alloc(8);
  const h = Buffer.alloc(8 + q.length);
  h[0] = type;
  h[1] = code;
  h.writeUInt16BE(id, 4);
  q.copy(h, 8);
  return ipFrame(IPPROTO_ICMP, src, dst, h);
}

export function etherFrame(type: number, length = 60): Buffer {
  const f = Buffer.alloc(length);
  f.writeUIntBE(PEER_MAC, 0, 6);
  f.writeUIntBE(GUEST_MAC, 6, 6);
  f.writeUInt16BE(type, 12);
  return f;
}

export const arpFrame = (): Buffer => etherFrame(ETHERTYPE_ARP);
