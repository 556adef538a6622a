// Datagram generator for the agent's robustness tests: valid FRAME, VARP and
// RELAY messages aimed at a known VIF, mutated in the ways broken or hostile
// senders produce (bit flips, truncation, trailing junk, header rewrites),
// plus plain random bytes. Deterministic for a given seed. With a VARP key,
// half the VARP messages carry a valid AUTH trailer (they pass authentication
// and reach the engine), the rest none.
import {
  ARP_OP_REQUEST,
  BROADCAST_MAC,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  FRAME_VNET_OFFSET,
  KIND_VARP,
  ICMP_ECHO_REQUEST,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  RELAY_INITIAL_HOPS,
  VARP_ANNOUNCE,
  VARP_FLAG_GRATUITOUS,
  VARP_FLAG_HAS_IP,
  VARP_REQUEST,
  VARP_VNET_OFFSET,
  VARP_WITHDRAW,
  encodeArp,
  encodeEthernet,
  encodeFrame,
  encodeIcmp,
  encodeIpv4,
  encodeRelay,
  encodeUdp,
  encodeVarp,
} from '../agent/wire/index.ts';

export interface FuzzTarget {
  vnet: number;
  mac: number;
  ip: number;
  /** The sender's COA (u32), written into VARP messages. */
  coa: number;
  /** The deployment's VARP key, if the target has one. */
  key?: Buffer;
}

export type Rng = () => number;

/** Mulberry32: small, fast, good enough to spread mutations. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fuzzer(target: FuzzTarget, seed: number): () => Buffer {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const remoteMac = () => 0x02_00_00_00_00_00 + int(0x10000);
  const remoteIp = (target.ip & 0xffffff00) + 100 + int(100);

  const frames = (): Buffer => {
    const src = remoteMac();
    const kind = int(4);
    let eth: Buffer;
    if (kind === 0) {
      const icmp = encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id: int(0xffff), seq: int(0xffff), payload: Buffer.alloc(int(64)) });
      eth = encodeEthernet({ dst: target.mac, src, ethertype: ETHERTYPE_IPV4, payload: encodeIpv4({ protocol: IPPROTO_ICMP, src: remoteIp, dst: target.ip, payload: icmp }) });
    } else if (kind === 1) {
      const arp = encodeArp({ op: ARP_OP_REQUEST, sha: src, spa: remoteIp, tha: 0, tpa: target.ip });
      eth = encodeEthernet({ dst: BROADCAST_MAC, src, ethertype: ETHERTYPE_ARP, payload: arp });
    } else if (kind === 2) {
      const udp = encodeUdp({ srcPort: 1024 + int(60000), dstPort: pick([7, 9, 53]), payload: Buffer.alloc(int(200)) }, { src: remoteIp, dst: target.ip });
      eth = encodeEthernet({ dst: target.mac, src, ethertype: ETHERTYPE_IPV4, payload: encodeIpv4({ protocol: IPPROTO_UDP, src: remoteIp, dst: target.ip, payload: udp }) });
    } else {
      eth = encodeEthernet({ dst: pick([target.mac, BROADCAST_MAC, remoteMac()]), src, ethertype: int(0x10000), payload: Buffer.alloc(int(100)) });
    }
    return encodeFrame({ vnet: pick([target.vnet, target.vnet, 2 + int(1000)]), ethernet: eth });
  };

  const varp = (): Buffer => {
    const opcode = pick([VARP_REQUEST, VARP_ANNOUNCE, VARP_WITHDRAW]);
    const byIp = opcode === VARP_REQUEST && int(2) === 0;
    const flags = opcode === VARP_ANNOUNCE && int(2) === 0 ? VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP : byIp ? VARP_FLAG_HAS_IP : 0;
    return encodeVarp({
      opcode,
      vnet: pick([target.vnet, 2 + int(1000)]),
      mac: byIp ? 0 : pick([target.mac, remoteMac()]),
      flags,
      ip: flags & VARP_FLAG_HAS_IP ? pick([target.ip, remoteIp]) : 0,
      coa: target.coa,
      nonce: int(0xffffffff),
      version: int(10),
    }, target.key && int(2) ? target.key : undefined);
  };

  const valid = (): Buffer => {
    const k = int(5);
    if (k < 2) return frames();
    if (k < 4) return varp();
    return encodeRelay({ hops: RELAY_INITIAL_HOPS, origin: target.coa, inner: int(2) ? varp() : frames() });
  };

  const mutate = (b: Buffer): Buffer => {
    switch (int(7)) {
      case 0: {
        const out = Buffer.from(b);
        for (let i = 1 + int(4); i > 0; i--) out[int(out.length)]! ^= 1 << int(8);
        return out;
      }
      case 1:
        return b.subarray(0, int(b.length));
      case 2:
        return Buffer.concat([b, random(1 + int(64))]);
      case 3: {
        const out = Buffer.from(b);
        out.writeUInt16BE(int(6), 0); // kind 0..5: valid and invalid kinds
        return out;
      }
      case 4: {
        const out = Buffer.from(b);
        if (out.length >= 8) out.writeUInt32BE(int(0xffffffff), 4);
        return out;
      }
      case 5: {
        // vnet 0 (invalid) or 1 (the physical network) where a FRAME or VARP message carries its vnet
        const out = Buffer.from(b);
        const at = out.length >= 2 && out.readUInt16BE(0) === KIND_VARP ? VARP_VNET_OFFSET : FRAME_VNET_OFFSET;
        if (out.length >= at + 4) out.writeUInt32BE(int(2), at);
        return out;
      }
      default: {
        const out = Buffer.from(b);
        if (out.length > 0) out[int(Math.min(out.length, 16))] = int(256);
        return out;
      }
    }
  };

  const random = (n: number): Buffer => {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = int(256);
    return out;
  };

  return () => {
    const k = int(10);
    if (k < 2) return valid();
    if (k < 8) return mutate(valid());
    return random(int(k === 8 ? 16 : 1500));
  };
}
