// Robustness: random and mutated datagrams into every decoder. The only
// acceptable failure is a WireError (a counted drop for the receive loop).
import { describe, expect, it } from 'vitest';
import { decodeArp, encodeArp } from './arp.ts';
import { decodeEthernet, encodeEthernet, payloadOffset, peekDst, peekEthertype, peekSrc } from './ethernet.ts';
import { checkFrame, decodeFrame, encodeFrame } from './frame.ts';
import { peekKind } from './header.ts';
import { decodeIcmp, encodeIcmp } from './icmp.ts';
import { decodeIpv4, decrementTtl, encodeIpv4 } from './ipv4.ts';
import { decodeRelay, encodeRelay } from './relay.ts';
import { decodeUdp, encodeUdp } from './udp.ts';
import { decodeVarp, encodeVarp } from './varp.ts';
import { WireError } from './errors.ts';

const ROUNDS = 20_000;
const KEY = Buffer.from('fuzz key');

/** Mulberry32: a seeded generator so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ip = { src: 0x0a07000a, dst: 0x0a07000b };
const udp = encodeUdp({ srcPort: 40000, dstPort: 7, payload: Buffer.from('echo') }, ip);
const icmp = encodeIcmp({ type: 8, code: 0, id: 1, seq: 2, payload: Buffer.alloc(16, 0x61) });
const ipUdp = encodeIpv4({ protocol: 17, ...ip, payload: udp });
const ipIcmp = encodeIpv4({ protocol: 1, ...ip, payload: icmp });
const arp = encodeArp({ op: 1, sha: 0x025d0000000a, spa: ip.src, tha: 0, tpa: ip.dst });
const ethIp = encodeEthernet({ dst: 0x025d0000000b, src: 0x025d0000000a, ethertype: 0x0800, payload: ipUdp });
const ethVlan = encodeEthernet({ dst: 0x025d0000000b, src: 0x025d0000000a, vlan: { pcp: 1, dei: 0, vid: 9 }, ethertype: 0x0800, payload: ipIcmp });
const ethArp = encodeEthernet({ dst: 0xffffffffffff, src: 0x025d0000000a, ethertype: 0x0806, payload: arp });
const frame = encodeFrame({ vnet: 7, ethernet: ethIp });
const varpMsg = { opcode: 2, vnet: 7, mac: 0x025d0000000a, flags: 1, ip: ip.src, coa: 0x7f000002, nonce: 9, version: 3 };
const varp = encodeVarp(varpMsg);
const varpAuth = encodeVarp(varpMsg, KEY);
const relay = encodeRelay({ hops: 4, origin: 0x7f000003, inner: varp });
const CORPUS = [udp, icmp, ipUdp, ipIcmp, arp, ethIp, ethVlan, ethArp, frame, varp, varpAuth, relay];

function mutate(r: () => number, base: Buffer): Buffer {
  const pick = (n: number) => Math.floor(r() * n);
  switch (pick(6)) {
    case 0: {
      const b = Buffer.alloc(pick(80));
      for (let i = 0; i < b.length; i++) b[i] = pick(256);
      return b;
    }
    case 1:
      return Buffer.from(base.subarray(0, pick(base.length + 1)));
    case 2: {
      const extra = Buffer.alloc(pick(40));
      for (let i = 0; i < extra.length; i++) extra[i] = pick(256);
      return Buffer.concat([base, extra]);
    }
    default: {
      const b = Buffer.from(base);
      const flips = 1 + pick(4);
      for (let i = 0; i < flips && b.length > 0; i++) {
        const at = pick(b.length);
        b[at] = pick(3) === 0 ? [0, 1, 0x7f, 0x80, 0xff][pick(5)]! : b[at]! ^ (1 << pick(8));
      }
      return b;
    }
  }
}

type Decoder = (b: Buffer) => unknown;
const DECODERS: Record<string, Decoder> = {
  peekKind,
  decodeEthernet,
  peekDst,
  peekSrc,
  peekEthertype,
  payloadOffset,
  decodeArp,
  decodeIpv4,
  decodeIcmp,
  decodeUdp: (b) => decodeUdp(b),
  decodeUdpChecked: (b) => decodeUdp(b, ip),
  decodeFrame,
  // The allocation-free path must accept and reject exactly what decodeFrame does.
  checkFrame: (b) => {
    let full: unknown;
    try {
      full = decodeFrame(b);
    } catch (err) {
      full = err;
    }
    let vnet: number | undefined;
    try {
      vnet = checkFrame(b);
    } catch (err) {
      if (!(full instanceof WireError) || (err as WireError).code !== full.code) throw new Error('checkFrame rejects what decodeFrame accepts');
      throw err;
    }
    if (full instanceof Error || (full as { vnet: number }).vnet !== vnet) throw new Error('checkFrame accepts what decodeFrame rejects');
    return [peekDst(b, 10), peekSrc(b, 10), peekEthertype(b, 10), payloadOffset(b, 10)];
  },
  decodeVarp: (b) => decodeVarp(b),
  decodeVarpKeyed: (b) => decodeVarp(b, KEY),
  decodeRelay,
  decrementTtl: (b) => decrementTtl(Buffer.from(b)),
  // The receive path: dispatch on kind, then every layer inside.
  pipeline: (b) => {
    const kind = peekKind(b);
    const inner = kind === 3 ? decodeRelay(b).inner : b;
    if (peekKind(inner) === 1) return decodeVarp(inner);
    const eth = decodeEthernet(decodeFrame(inner).ethernet);
    if (eth.ethertype === 0x0806) return decodeArp(eth.payload);
    const pkt = decodeIpv4(eth.payload);
    return pkt.protocol === 17 ? decodeUdp(pkt.payload, pkt) : decodeIcmp(pkt.payload);
  },
};

describe('fuzz: only WireError ever escapes a decoder', () => {
  it(`survives ${ROUNDS} random and mutated buffers per decoder`, () => {
    const r = rng(0x5eed);
    const tally: Record<string, { ok: number; rejected: number }> = {};
    for (const name of Object.keys(DECODERS)) tally[name] = { ok: 0, rejected: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const input = mutate(r, CORPUS[i % CORPUS.length]!);
      for (const [name, decode] of Object.entries(DECODERS)) {
        try {
          decode(input);
          tally[name]!.ok++;
        } catch (err) {
          if (!(err instanceof WireError)) {
            throw new Error(`${name} threw ${String(err)} on ${input.toString('hex')}`);
          }
          tally[name]!.rejected++;
        }
      }
    }
    // Both outcomes must occur for every decoder, or the corpus proves nothing.
    for (const [name, t] of Object.entries(tally)) {
      expect(t.ok, `${name} accepted nothing`).toBeGreaterThan(0);
      expect(t.rejected, `${name} rejected nothing`).toBeGreaterThan(0);
    }
  });
});
