import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { internetChecksum, updateChecksum } from './checksum.ts';
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  ICMP_UNREACH_NEEDFRAG,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  IPV4_FLAG_DF,
} from './constants.ts';
import { decodeIcmp, encodeIcmp, type IcmpMessage } from './icmp.ts';
import { decodeIpv4, decrementTtl, encodeIpv4 } from './ipv4.ts';
import { decodeUdp, encodeUdp } from './udp.ts';
import { parseIp } from './addr.ts';
import { expectWireError, hex } from './testing.ts';

// RFC 1071 by the book, written independently of checksum.ts: sum 16-bit
// words with end-around carry, then complement.
function referenceChecksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i]! << 8) + (i + 1 < bytes.length ? bytes[i + 1]! : 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

// A header with a published checksum (0xb861), 192.168.0.1 -> 192.168.0.199.
const HEADER = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');

describe('Internet checksum', () => {
  it('matches the published header checksum and a by-the-book implementation', () => {
    const zeroed = Buffer.from(HEADER);
    zeroed.writeUInt16BE(0, 10);
    expect(internetChecksum(zeroed)).toBe(0xb861);
    expect(internetChecksum(HEADER)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const b = randomBytes(1 + (i % 97));
      expect(internetChecksum(b)).toBe(referenceChecksum(b));
    }
  });

  it('updates incrementally (RFC 1624) to a checksum that verifies', () => {
    for (let i = 0; i < 500; i++) {
      const h = randomBytes(20);
      h.writeUInt16BE(0, 10);
      h.writeUInt16BE(internetChecksum(h), 10);
      const oldWord = h.readUInt16BE(4);
      const newWord = (oldWord + 1 + (i * 7919)) & 0xffff;
      h.writeUInt16BE(newWord, 4);
      h.writeUInt16BE(updateChecksum(h.readUInt16BE(10), oldWord, newWord), 10);
      expect(internetChecksum(h)).toBe(0);
    }
  });
});

describe('IPv4', () => {
  it('decodes the published header', () => {
    const pkt = decodeIpv4(Buffer.concat([HEADER, Buffer.alloc(0x73 - 20)]));
    expect(pkt).toMatchObject({ headerLength: 20, totalLength: 0x73, ttl: 0x40, protocol: IPPROTO_UDP, flags: IPV4_FLAG_DF, fragmentOffset: 0, checksum: 0xb861, src: parseIp('192.168.0.1'), dst: parseIp('192.168.0.199') });
    expect(pkt.payload.length).toBe(0x73 - 20);
  });

  it('round-trips all fields, with options, and trims Ethernet padding from the payload', () => {
    const input = { dscp: 46, ecn: 1, id: 0xbeef, flags: IPV4_FLAG_DF, fragmentOffset: 0, ttl: 17, protocol: IPPROTO_ICMP, src: parseIp('10.7.0.10'), dst: parseIp('10.7.0.11'), options: hex('01010100'), payload: Buffer.from('payload') };
    const buf = encodeIpv4(input);
    expect(internetChecksum(buf, 0, 24)).toBe(0);
    const padded = Buffer.concat([buf, Buffer.alloc(9)]);
    const pkt = decodeIpv4(padded);
    expect(pkt).toMatchObject({ ...input, headerLength: 24, totalLength: buf.length });
    expect(pkt.payload.toString()).toBe('payload');
    expect(pkt.payload.buffer).toBe(padded.buffer);
  });

  it('rejects every truncation, bad version, IHL, lengths and checksum', () => {
    const buf = encodeIpv4({ protocol: IPPROTO_UDP, src: 1, dst: 2, payload: Buffer.alloc(12) });
    for (let n = 0; n < buf.length; n++) expectWireError(() => decodeIpv4(buf.subarray(0, n)), 'TRUNCATED');
    const mut = (f: (b: Buffer) => void) => {
      const b = Buffer.from(buf);
      f(b);
      return b;
    };
    expectWireError(() => decodeIpv4(mut((b) => (b[0] = 0x65))), 'BAD_VERSION');
    expectWireError(() => decodeIpv4(mut((b) => (b[0] = 0x44))), 'BAD_HEADER');
    expectWireError(() => decodeIpv4(mut((b) => (b[0] = 0x4f))), 'TRUNCATED'); // IHL 60 > 32 bytes
    expectWireError(() => decodeIpv4(mut((b) => b.writeUInt16BE(19, 2))), 'BAD_LENGTH');
    expectWireError(() => decodeIpv4(mut((b) => b.writeUInt16BE(buf.length + 1, 2))), 'TRUNCATED');
    expectWireError(() => decodeIpv4(mut((b) => (b[8] = b[8]! ^ 1))), 'BAD_CHECKSUM');
    expectWireError(() => encodeIpv4({ protocol: 1, src: 1, dst: 2, payload: Buffer.alloc(0), options: Buffer.alloc(3) }), 'BAD_LENGTH');
    expectWireError(() => encodeIpv4({ protocol: 1, src: 1, dst: 2, payload: Buffer.alloc(65536) }), 'BAD_LENGTH');
    expect(expectWireError(() => encodeIpv4({ protocol: 1, src: 1, dst: 2, ttl: 256, payload: Buffer.alloc(0) }), 'BAD_HEADER').message).toContain('ttl');
  });

  it('decrements the TTL in place and keeps the header checksum valid', () => {
    const frame = Buffer.concat([Buffer.alloc(14), encodeIpv4({ ttl: 3, protocol: IPPROTO_UDP, src: 5, dst: 6, payload: Buffer.alloc(4) })]);
    expect(decrementTtl(frame, 14)).toBe(2);
    expect(decrementTtl(frame, 14)).toBe(1);
    const pkt = decodeIpv4(frame.subarray(14));
    expect(pkt.ttl).toBe(1);
    expect(pkt.checksum).toBe(encodeIpv4({ ttl: 1, protocol: IPPROTO_UDP, src: 5, dst: 6, payload: Buffer.alloc(4) }).readUInt16BE(10));
    expect(decrementTtl(frame, 14)).toBe(0);
    expectWireError(() => decrementTtl(frame, 14), 'BAD_HEADER');
    expectWireError(() => decrementTtl(Buffer.alloc(19)), 'TRUNCATED');
  });
});

describe('ICMP', () => {
  const cases: IcmpMessage[] = [
    { type: ICMP_ECHO_REQUEST, code: 0, id: 0x1234, seq: 7, payload: Buffer.from('abcdefgh') },
    { type: ICMP_ECHO_REPLY, code: 0, id: 1, seq: 0xffff, payload: Buffer.alloc(0) },
    { type: ICMP_DEST_UNREACHABLE, code: ICMP_UNREACH_NEEDFRAG, nextHopMtu: 1400, payload: Buffer.alloc(28, 1) },
    { type: ICMP_TIME_EXCEEDED, code: 0, payload: Buffer.alloc(28, 2) },
  ];

  it('round-trips echo, unreachable and time exceeded with a valid checksum', () => {
    for (const m of cases) {
      const buf = encodeIcmp(m);
      expect(referenceChecksum(buf)).toBe(0);
      expect(decodeIcmp(buf)).toEqual(m);
    }
    expect(encodeIcmp(cases[0]!)).toEqual(hex('0800 542f 1234 0007 6162636465666768'));
  });

  it('rejects truncation, bad checksums and unsupported types', () => {
    const buf = encodeIcmp(cases[0]!);
    for (let n = 0; n < 8; n++) expectWireError(() => decodeIcmp(buf.subarray(0, n)), 'TRUNCATED');
    expectWireError(() => decodeIcmp(buf.subarray(0, 9)), 'BAD_CHECKSUM');
    const bad = Buffer.from(buf);
    bad[9] = bad[9]! ^ 0x40;
    expectWireError(() => decodeIcmp(bad), 'BAD_CHECKSUM');
    const redirect = Buffer.from(buf);
    redirect[0] = 5;
    redirect.writeUInt16BE(0, 2);
    redirect.writeUInt16BE(internetChecksum(redirect), 2);
    expectWireError(() => decodeIcmp(redirect), 'BAD_KIND');
    expectWireError(() => encodeIcmp({ ...cases[0]!, id: 70000 } as IcmpMessage), 'BAD_HEADER');
  });
});

describe('UDP', () => {
  const ip = { src: parseIp('10.7.0.10'), dst: parseIp('10.7.0.11') };

  it('round-trips with the pseudo-header checksum computed by the book', () => {
    const d = { srcPort: 40000, dstPort: 7, payload: Buffer.from('echo me') };
    const buf = encodeUdp(d, ip);
    const pseudo = Buffer.alloc(12);
    pseudo.writeUInt32BE(ip.src, 0);
    pseudo.writeUInt32BE(ip.dst, 4);
    pseudo[9] = IPPROTO_UDP;
    pseudo.writeUInt16BE(buf.length, 10);
    expect(referenceChecksum(Buffer.concat([pseudo, buf]))).toBe(0);
    expect(decodeUdp(buf, ip)).toMatchObject({ ...d, length: 15 });
    // Padding after the UDP length is ignored.
    expect(decodeUdp(Buffer.concat([buf, Buffer.alloc(3)]), ip).payload.toString()).toBe('echo me');
  });

  it('treats a zero checksum as none and sends a computed zero as 0xffff', () => {
    const none = encodeUdp({ srcPort: 1, dstPort: 2, payload: Buffer.from('x') });
    expect(none.readUInt16BE(6)).toBe(0);
    expect(decodeUdp(none, ip).payload.toString()).toBe('x');
    // Find a payload whose checksum computes to zero.
    for (let v = 0; v <= 0xffff; v++) {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(v);
      const b = encodeUdp({ srcPort: 1, dstPort: 2, payload: p }, ip);
      if (b.readUInt16BE(6) === 0xffff) {
        expect(decodeUdp(b, ip).payload).toEqual(p);
        return;
      }
    }
    throw new Error('no payload with a zero checksum found');
  });

  it('rejects truncation, bad length fields and checksums', () => {
    const buf = encodeUdp({ srcPort: 1, dstPort: 2, payload: Buffer.alloc(10) }, ip);
    for (let n = 0; n < buf.length; n++) expectWireError(() => decodeUdp(buf.subarray(0, n), ip), 'TRUNCATED');
    const short = Buffer.from(buf);
    short.writeUInt16BE(7, 4);
    expectWireError(() => decodeUdp(short, ip), 'BAD_LENGTH');
    expectWireError(() => decodeUdp(buf, { src: ip.src, dst: ip.dst + 1 }), 'BAD_CHECKSUM');
    expectWireError(() => encodeUdp({ srcPort: 65536, dstPort: 2, payload: Buffer.alloc(0) }), 'BAD_HEADER');
    expectWireError(() => encodeUdp({ srcPort: 1, dstPort: 2, payload: Buffer.alloc(65528) }), 'BAD_LENGTH');
  });
});
