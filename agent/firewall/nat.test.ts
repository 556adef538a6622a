// NAT translation against a reference on random flows: every packet's IP,
// TCP, UDP and ICMP checksums are verified by recomputation from scratch;
// replies and ICMP errors map back; inbound reaches only what a floating IP,
// a port forward or NAT state allows; port exhaustion and timeouts.
//
// Over 300 lines: the suites share the packet builders and the checksum checks.
import { describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, encodeIpv4, internetChecksum, parseIp } from '../wire/index.ts';
import { pseudoHeaderSum } from '../wire/udp.ts';
import { Nat, type NatDropReason, type NatLeg } from './nat.ts';
import { adjust16 } from './rewrite.ts';

const H = 14; // the headroom packets sit behind
const LEG_IP = parseIp('203.0.113.2');
const FLOAT_EXT = parseIp('203.0.113.10');
const FLOAT_INT = parseIp('10.0.0.5');
const LEG: NatLeg = {
  iface: 'ext',
  ip: LEG_IP,
  nat: {
    snat: ['10.0.0.0/24'],
    floatingIps: [{ external: '203.0.113.10', internal: '10.0.0.5' }],
    portForwards: [
      { protocol: 'tcp', external: '203.0.113.2', externalPort: 8080, internal: '10.0.0.6', internalPort: 80 },
      { protocol: 'udp', external: '203.0.113.11', externalPort: 5353, internal: '10.0.0.7', internalPort: 53 },
    ],
  },
};

/** A seeded generator (mulberry32): the same flows every run. */
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

interface Pkt {
  protocol: number;
  src: number;
  dst: number;
  sp: number;
  dp: number;
  payload: Buffer;
  /** UDP: send without a checksum (zero). */
  noUdpChecksum?: boolean;
  tcpFlags?: number;
  icmpType?: number;
}

function l4Of(p: Pkt): Buffer {
  if (p.protocol === IPPROTO_ICMP) {
    const b = Buffer.alloc(8 + p.payload.length);
    b[0] = p.icmpType ?? ICMP_ECHO_REQUEST;
    b.writeUInt16BE(p.icmpType === ICMP_ECHO_REPLY ? p.dp : p.sp, 4);
    b.writeUInt16BE(7, 6);
    p.payload.copy(b, 8);
    b.writeUInt16BE(internetChecksum(b), 2);
    return b;
  }
  const hl = p.protocol === IPPROTO_TCP ? 20 : 8;
  const b = Buffer.alloc(hl + p.payload.length);
  b.writeUInt16BE(p.sp, 0);
  b.writeUInt16BE(p.dp, 2);
  if (p.protocol === IPPROTO_TCP) {
    b.writeUInt32BE(0x01020304, 4);
    b[12] = 5 << 4;
    b[13] = p.tcpFlags ?? 0x02;
    b.writeUInt16BE(65535, 14);
  } else b.writeUInt16BE(b.length, 4);
  p.payload.copy(b, hl);
  const at = p.protocol === IPPROTO_TCP ? 16 : 6;
  if (!(p.protocol === IPPROTO_UDP && p.noUdpChecksum)) {
    const c = internetChecksum(b, 0, b.length, pseudoHeaderSum(p.src, p.dst, p.protocol, b.length));
    b.writeUInt16BE(p.protocol === IPPROTO_UDP && c === 0 ? 0xffff : c, at);
  }
  return b;
}

function packet(p: Pkt): Buffer {
  const ip = encodeIpv4({ ttl: 64, protocol: p.protocol, src: p.src, dst: p.dst, payload: l4Of(p), id: 0x1234 });
  const out = Buffer.alloc(H + ip.length);
  ip.copy(out, H);
  return out;
}

/** Reads a packet back, checking every checksum from scratch. */
function read(buf: Buffer, off = H): Pkt & { l4: Buffer } {
  const ihl = (buf[off]! & 0x0f) * 4;
  const total = buf.readUInt16BE(off + 2);
  expect(internetChecksum(buf, off, off + ihl), 'IP header checksum').toBe(0);
  const protocol = buf[off + 9]!;
  const src = buf.readUInt32BE(off + 12);
  const dst = buf.readUInt32BE(off + 16);
  const l4 = buf.subarray(off + ihl, off + total);
  if (protocol === IPPROTO_ICMP) {
    expect(internetChecksum(l4), 'ICMP checksum').toBe(0);
    const t = l4[0]!;
    const id = l4.readUInt16BE(4);
    return { protocol, src, dst, sp: t === ICMP_ECHO_REPLY ? 0 : id, dp: t === ICMP_ECHO_REPLY ? id : 0, payload: l4.subarray(8), icmpType: t, l4 };
  }
  const at = protocol === IPPROTO_TCP ? 16 : 6;
  const field = l4.readUInt16BE(at);
  if (protocol === IPPROTO_UDP && field === 0) {
    // No checksum: it must have been sent without one.
  } else {
    expect(internetChecksum(l4, 0, l4.length, pseudoHeaderSum(src, dst, protocol, l4.length)), `${protocol === IPPROTO_TCP ? 'TCP' : 'UDP'} checksum`).toBe(0);
  }
  return { protocol, src, dst, sp: l4.readUInt16BE(0), dp: l4.readUInt16BE(2), payload: l4.subarray(protocol === IPPROTO_TCP ? 20 : 8), l4 };
}

function reply(p: Pkt): Pkt {
  const icmpType = p.protocol === IPPROTO_ICMP ? ICMP_ECHO_REPLY : undefined;
  return { ...p, src: p.dst, dst: p.src, sp: p.dp, dp: p.sp, tcpFlags: 0x12, ...(icmpType === undefined ? {} : { icmpType }) };
}

function drops(c: Counters, reason: NatDropReason): number {
  return c.get(`softudc_nat_dropped_packets_total{router="r1",reason="${reason}"}`);
}

function makeNat(o: { ports?: [number, number]; udpMs?: number } = {}) {
  const counters = new Counters();
  const nat = new Nat({ counters, label: 'router="r1"', ...(o.ports ? { portMin: o.ports[0], portMax: o.ports[1] } : {}), timeouts: o.udpMs ? { udpMs: o.udpMs, udpStreamMs: o.udpMs } : {} });
  nat.configure([LEG]);
  return { nat, counters };
}

const ihlOf = (b: Buffer) => (b[H]! & 0x0f) * 4;

/** An ICMP error (type/code) from `from` to `to`, quoting `quoted` (the IP packet at H) cut to `quoteLen` bytes of transport. */
function icmpError(from: number, to: number, type: number, code: number, quoted: Buffer, quoteLen: number): Buffer {
  const ip = quoted.subarray(H);
  const q = ip.subarray(0, Math.min(ip.length, ihlOf(quoted) + quoteLen));
  const m = Buffer.alloc(8 + q.length);
  m[0] = type;
  m[1] = code;
  if (type === 3 && code === 4) m.writeUInt16BE(1400, 6);
  q.copy(m, 8);
  m.writeUInt16BE(internetChecksum(m), 2);
  const pkt = encodeIpv4({ ttl: 64, protocol: IPPROTO_ICMP, src: from, dst: to, payload: m });
  const out = Buffer.alloc(H + pkt.length);
  pkt.copy(out, H);
  return out;
}

function quotedOf(buf: Buffer): { src: number; dst: number; sp: number; dp: number; ipOk: boolean } {
  const off = H + ihlOf(buf) + 8;
  const qihl = (buf[off]! & 0x0f) * 4;
  return {
    src: buf.readUInt32BE(off + 12),
    dst: buf.readUInt32BE(off + 16),
    sp: buf.readUInt16BE(off + qihl),
    dp: buf.readUInt16BE(off + qihl + 2),
    ipOk: internetChecksum(buf, off, off + qihl) === 0,
  };
}

describe('incremental checksum update', () => {
  it('matches recomputation from scratch on random words (RFC 1624)', () => {
    const r = rng(7);
    for (let n = 0; n < 20_000; n++) {
      const len = 2 + 2 * Math.floor(r() * 30);
      const b = Buffer.alloc(len + 2);
      for (let i = 2; i < b.length; i++) b[i] = Math.floor(r() * 256);
      if (r() < 0.05) b.fill(0xff, 2); // sums at the ones' complement edge
      b.writeUInt16BE(internetChecksum(b, 2), 0);
      const at = 2 + 2 * Math.floor(r() * (len / 2));
      const old = b.readUInt16BE(at);
      const now = r() < 0.1 ? 0 : r() < 0.1 ? 0xffff : Math.floor(r() * 0x10000);
      b.writeUInt16BE(now, at);
      adjust16(b, 0, old, now);
      // All-zero data has no valid nonzero checksum in one's complement; no real header is all zeros (version, protocol).
      if (b.subarray(2).every((x) => x === 0)) continue;
      expect(internetChecksum(b)).toBe(0);
    }
  });
});

describe('NAT on random flows', () => {
  it('translates outbound and back, every checksum right, every reply tuple unique', () => {
    const { nat, counters } = makeNat();
    const r = rng(42);
    const now = Date.now();
    const seen = new Map<string, string>(); // reply tuple -> the flow it belongs to
    const protos = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP];
    for (let n = 0; n < 3000; n++) {
      const protocol = protos[Math.floor(r() * 3)]!;
      const inside = r() < 0.2 ? FLOAT_INT : parseIp(`10.0.0.${1 + Math.floor(r() * 40)}`);
      const remote = parseIp(`198.51.100.${1 + Math.floor(r() * 4)}`);
      const p: Pkt = {
        protocol, src: inside, dst: remote,
        sp: Math.floor(r() * 3) === 0 ? 40000 + Math.floor(r() * 4) : Math.floor(r() * 65536), // frequent collisions
        dp: protocol === IPPROTO_ICMP ? 0 : [80, 443, 53][Math.floor(r() * 3)]!,
        payload: Buffer.from(Array.from({ length: Math.floor(r() * 60) }, () => Math.floor(r() * 256))), // odd lengths too
        noUdpChecksum: protocol === IPPROTO_UDP && r() < 0.3,
      };
      const flowKey = `${p.protocol}/${p.src}:${p.sp}>${p.dst}:${p.dp}`;
      const buf = packet(p);
      expect(nat.outbound(buf, H, 20, 'ext', now)).toBe('pass');
      const o = read(buf);
      const floating = inside === FLOAT_INT;
      expect(o.src).toBe(floating ? FLOAT_EXT : LEG_IP);
      expect(o.dst).toBe(remote);
      expect(o.dp).toBe(p.dp);
      expect(o.payload.equals(p.payload)).toBe(true);
      if (p.noUdpChecksum) expect(o.l4.readUInt16BE(6)).toBe(0);
      if (protocol !== IPPROTO_ICMP && !floating) expect(o.sp === p.sp || (o.sp >= 1024 && o.sp <= 65535)).toBe(true);
      // The reference: one flow per reply tuple, and the same flow keeps its translation.
      const tuple = `${protocol}/${o.dst}:${o.dp}>${o.src}:${o.sp}`;
      const owner = seen.get(tuple);
      expect(owner === undefined || owner === flowKey, `reply tuple ${tuple} of ${flowKey} is ${owner}'s`).toBe(true);
      seen.set(tuple, flowKey);
      // The reply maps back to the inside flow exactly.
      const back = packet({ ...reply({ ...p, src: o.src, sp: o.sp }), noUdpChecksum: p.noUdpChecksum });
      expect(nat.inbound(back, H, 20, 'ext', now)).toBe('pass');
      const b = read(back);
      expect([b.src, b.sp, b.dst, b.dp]).toEqual([remote, p.dp, inside, p.sp]);
    }
    expect(counters.get('softudc_nat_translated_packets_total{router="r1",direction="out"}')).toBe(3000);
    expect(counters.get('softudc_nat_translated_packets_total{router="r1",direction="in"}')).toBe(3000);
  });

  it('lets in only floating IPs, port forwards and NAT state; the leg itself is local', () => {
    const { nat, counters } = makeNat();
    const now = Date.now();
    const client = parseIp('198.51.100.9');
    // Floating IP: any port, to the VM, and the VM's replies leave from the floating IP.
    const f = packet({ protocol: IPPROTO_TCP, src: client, dst: FLOAT_EXT, sp: 50000, dp: 22, payload: Buffer.from('hello') });
    expect(nat.inbound(f, H, 20, 'ext', now)).toBe('pass');
    expect(read(f)).toMatchObject({ src: client, dst: FLOAT_INT, sp: 50000, dp: 22 });
    const fr = packet({ protocol: IPPROTO_TCP, src: FLOAT_INT, dst: client, sp: 22, dp: 50000, payload: Buffer.alloc(3), tcpFlags: 0x12 });
    expect(nat.outbound(fr, H, 20, 'ext', now)).toBe('pass');
    expect(read(fr)).toMatchObject({ src: FLOAT_EXT, dst: client, sp: 22, dp: 50000 });
    // Port forward on the leg's own address, TCP.
    const pf = packet({ protocol: IPPROTO_TCP, src: client, dst: LEG_IP, sp: 50001, dp: 8080, payload: Buffer.alloc(0) });
    expect(nat.inbound(pf, H, 20, 'ext', now)).toBe('pass');
    expect(read(pf)).toMatchObject({ dst: parseIp('10.0.0.6'), dp: 80 });
    const pfr = packet({ protocol: IPPROTO_TCP, src: parseIp('10.0.0.6'), dst: client, sp: 80, dp: 50001, payload: Buffer.alloc(0), tcpFlags: 0x12 });
    expect(nat.outbound(pfr, H, 20, 'ext', now)).toBe('pass');
    expect(read(pfr)).toMatchObject({ src: LEG_IP, sp: 8080 });
    // Port forward on a pool address, UDP with and without checksum.
    for (const noUdpChecksum of [false, true]) {
      const u = packet({ protocol: IPPROTO_UDP, src: client, dst: parseIp('203.0.113.11'), sp: 40000 + Number(noUdpChecksum), dp: 5353, payload: Buffer.from('q'), noUdpChecksum });
      expect(nat.inbound(u, H, 20, 'ext', now)).toBe('pass');
      expect(read(u)).toMatchObject({ dst: parseIp('10.0.0.7'), dp: 53 });
    }
    // Straight to an inside address (the outside routes inside prefixes to the leg): refused and counted.
    for (const dst of ['10.0.0.6', '10.0.0.9', '10.0.0.5']) {
      const d = packet({ protocol: IPPROTO_TCP, src: client, dst: parseIp(dst), sp: 50002, dp: 80, payload: Buffer.alloc(0) });
      expect(nat.inbound(d, H, 20, 'ext', now)).toBe('drop');
    }
    // A port forward's protocol matters; a mid-stream segment cannot open one.
    expect(nat.inbound(packet({ protocol: IPPROTO_UDP, src: client, dst: LEG_IP, sp: 1, dp: 8080, payload: Buffer.alloc(0) }), H, 20, 'ext', now)).toBe('local');
    expect(nat.inbound(packet({ protocol: IPPROTO_TCP, src: client, dst: FLOAT_EXT, sp: 2, dp: 80, payload: Buffer.alloc(0), tcpFlags: 0x10 }), H, 20, 'ext', now)).toBe('drop');
    // Pings to the leg are the node's own; a stray echo reply is not let in.
    expect(nat.inbound(packet({ protocol: IPPROTO_ICMP, src: client, dst: LEG_IP, sp: 9, dp: 0, payload: Buffer.alloc(4) }), H, 20, 'ext', now)).toBe('local');
    expect(nat.inbound(packet({ protocol: IPPROTO_ICMP, src: client, dst: parseIp('10.0.0.3'), sp: 0, dp: 9, payload: Buffer.alloc(4), icmpType: ICMP_ECHO_REPLY }), H, 20, 'ext', now)).toBe('drop');
    expect(drops(counters, 'unmapped')).toBe(4);
    expect(drops(counters, 'invalid')).toBe(1);
    expect(nat.extraAddresses('ext').sort()).toEqual([FLOAT_EXT, parseIp('203.0.113.11')].sort());
  });
});

describe('ICMP errors through NAT', () => {
  const router = parseIp('192.0.2.1');
  const server = parseIp('198.51.100.7');
  const inside = parseIp('10.0.0.20');

  it.each([
    ['UDP, port unreachable from the server, whole datagram quoted', IPPROTO_UDP, 3, 3, 'server', 1000],
    ['UDP, time exceeded from a router on the path, 8 bytes quoted', IPPROTO_UDP, 11, 0, 'router', 8],
    ['TCP, fragmentation needed, 8 bytes quoted', IPPROTO_TCP, 3, 4, 'router', 8],
    ['TCP, host unreachable, whole segment quoted', IPPROTO_TCP, 3, 1, 'router', 1000],
    ['ICMP echo, time exceeded, whole message quoted', IPPROTO_ICMP, 11, 0, 'router', 1000],
  ] as const)('%s: back to the inside host with the quoted datagram restored', (_n, protocol, type, code, from, quoteLen) => {
    const { nat } = makeNat();
    const now = Date.now();
    const p: Pkt = { protocol, src: inside, dst: server, sp: 33333, dp: protocol === IPPROTO_ICMP ? 0 : 53, payload: Buffer.from('abcdefghijk') };
    const out = packet(p);
    nat.outbound(out, H, 20, 'ext', now);
    const o = read(out);
    const err = icmpError(from === 'server' ? server : router, LEG_IP, type, code, out, quoteLen);
    expect(nat.inbound(err, H, 20, 'ext', now)).toBe('pass');
    const e = read(err); // the outer ICMP checksum, from scratch
    expect(e.dst).toBe(inside);
    expect(e.src).toBe(from === 'server' ? server : router);
    const q = quotedOf(err);
    expect(q.ipOk).toBe(true);
    expect([q.src, q.dst]).toEqual([inside, server]);
    if (protocol !== IPPROTO_ICMP) expect([q.sp, q.dp]).toEqual([33333, 53]);
    if (protocol === IPPROTO_ICMP) {
      const qoff = H + 20 + 8 + 20;
      expect(err.readUInt16BE(qoff + 4)).toBe(33333);
      expect(internetChecksum(err, qoff, qoff + 8 + 11)).toBe(0);
    }
    if (quoteLen > 20 && protocol !== IPPROTO_ICMP) {
      // The whole transport segment was quoted: its own checksum is right for the restored addresses.
      const qoff = H + 20 + 8;
      const l4 = err.subarray(qoff + 20, qoff + 20 + (o.l4.length));
      expect(internetChecksum(l4, 0, l4.length, pseudoHeaderSum(inside, server, protocol, l4.length))).toBe(0);
    }
  });

  it('an inside host\'s error about an inbound flow leaves from the floating IP, quoting it', () => {
    const { nat } = makeNat();
    const now = Date.now();
    const client = parseIp('198.51.100.9');
    const inb = packet({ protocol: IPPROTO_UDP, src: client, dst: FLOAT_EXT, sp: 4444, dp: 9999, payload: Buffer.from('x') });
    expect(nat.inbound(inb, H, 20, 'ext', now)).toBe('pass');
    const err = icmpError(FLOAT_INT, client, 3, 3, inb, 1000);
    expect(nat.outbound(err, H, 20, 'ext', now)).toBe('pass');
    const e = read(err);
    expect([e.src, e.dst]).toEqual([FLOAT_EXT, client]);
    const q = quotedOf(err);
    expect([q.src, q.dst, q.sp, q.dp, q.ipOk]).toEqual([client, FLOAT_EXT, 4444, 9999, true]);
    const l4 = err.subarray(H + 20 + 8 + 20, H + 20 + 8 + 20 + 9);
    expect(internetChecksum(l4, 0, l4.length, pseudoHeaderSum(client, FLOAT_EXT, IPPROTO_UDP, l4.length))).toBe(0);
  });

  it('an error about no connection is not let in', () => {
    const { nat, counters } = makeNat();
    const stray = packet({ protocol: IPPROTO_UDP, src: LEG_IP, dst: server, sp: 1, dp: 2, payload: Buffer.alloc(0) });
    expect(nat.inbound(icmpError(router, inside, 3, 3, stray, 8), H, 20, 'ext', Date.now())).toBe('drop');
    expect(drops(counters, 'unmapped')).toBe(1);
  });
});

describe('NAT port allocation and timeouts', () => {
  it('runs out of ports per destination and counts the drop; another destination still has them', () => {
    const { nat, counters } = makeNat({ ports: [40000, 40003] });
    const now = Date.now();
    const dst = parseIp('198.51.100.1');
    const used = new Set<number>();
    for (let i = 1; i <= 4; i++) {
      const b = packet({ protocol: IPPROTO_UDP, src: parseIp(`10.0.0.${100 + i}`), dst, sp: 5000, dp: 53, payload: Buffer.alloc(1) });
      expect(nat.outbound(b, H, 20, 'ext', now)).toBe('pass');
      used.add(read(b).sp);
    }
    expect([...used].sort()).toEqual([40000, 40001, 40002, 40003]);
    const fifth = packet({ protocol: IPPROTO_UDP, src: parseIp('10.0.0.105'), dst, sp: 5000, dp: 53, payload: Buffer.alloc(1) });
    expect(nat.outbound(fifth, H, 20, 'ext', now)).toBe('drop');
    expect(drops(counters, 'ports_exhausted')).toBe(1);
    const other = packet({ protocol: IPPROTO_UDP, src: parseIp('10.0.0.105'), dst: parseIp('198.51.100.2'), sp: 5000, dp: 53, payload: Buffer.alloc(1) });
    expect(nat.outbound(other, H, 20, 'ext', now)).toBe('pass');
    // ICMP echo ids are their own space.
    const ping = packet({ protocol: IPPROTO_ICMP, src: parseIp('10.0.0.105'), dst, sp: 77, dp: 0, payload: Buffer.alloc(8) });
    expect(nat.outbound(ping, H, 20, 'ext', now)).toBe('pass');
    // A port forward's external port is never handed out.
    const { nat: n2 } = makeNat({ ports: [8080, 8080] });
    expect(n2.outbound(packet({ protocol: IPPROTO_TCP, src: parseIp('10.0.0.1'), dst, sp: 8080, dp: 80, payload: Buffer.alloc(0) }), H, 20, 'ext', now)).toBe('drop');
  });

  it('forgets idle translations: the reply is refused, the port is free again', () => {
    const { nat, counters } = makeNat({ ports: [40000, 40000], udpMs: 50 });
    const t0 = Date.now();
    const dst = parseIp('198.51.100.1');
    const a = packet({ protocol: IPPROTO_UDP, src: parseIp('10.0.0.1'), dst, sp: 5000, dp: 53, payload: Buffer.alloc(1) });
    expect(nat.outbound(a, H, 20, 'ext', t0)).toBe('pass');
    expect(nat.outbound(packet({ protocol: IPPROTO_UDP, src: parseIp('10.0.0.2'), dst, sp: 5000, dp: 53, payload: Buffer.alloc(1) }), H, 20, 'ext', t0 + 10)).toBe('drop');
    const late = packet({ protocol: IPPROTO_UDP, src: dst, dst: LEG_IP, sp: 53, dp: 40000, payload: Buffer.alloc(1) });
    expect(nat.inbound(late, H, 20, 'ext', t0 + 60)).toBe('local'); // no state: only the leg itself, never inside
    expect(nat.outbound(packet({ protocol: IPPROTO_UDP, src: parseIp('10.0.0.2'), dst, sp: 5000, dp: 53, payload: Buffer.alloc(1) }), H, 20, 'ext', t0 + 61)).toBe('pass');
    expect(drops(counters, 'ports_exhausted')).toBe(1);
    expect(nat.entries(t0 + 62)).toHaveLength(1);
  });
});
