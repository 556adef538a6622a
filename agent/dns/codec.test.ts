import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { codeOf } from '../dhcp/testing.ts';
import { parseIp } from '../wire/addr.ts';
import { CLASS_IN, decodeDns, DNS_UDP_MAX, encodeDns, parseReverseName, QType, Rcode, reverseName, type DnsMessage } from './codec.ts';

const base: DnsMessage = {
  id: 0x1234, response: false, opcode: 0, authoritative: false, truncated: false, recursionDesired: true, recursionAvailable: false,
  rcode: 0, questions: [{ name: 'web-1.shop.example.internal', type: QType.A, class: CLASS_IN }], answers: [], authorityCount: 0, additionalCount: 0,
};

describe('DNS codec', () => {
  it('round-trips a query and an A answer', () => {
    expect(decodeDns(encodeDns(base))).toEqual(base);
    const answer: DnsMessage = { ...base, response: true, authoritative: true, recursionAvailable: true, answers: [{ name: 'web-1.shop.example.internal', type: QType.A, class: CLASS_IN, ttl: 60, data: parseIp('10.7.0.10') }] };
    expect(decodeDns(encodeDns(answer))).toEqual(answer);
  });

  it('round-trips a PTR answer and an NXDOMAIN/REFUSED header', () => {
    const q = reverseName(parseIp('10.7.0.10'));
    expect(q).toBe('10.0.7.10.in-addr.arpa');
    expect(parseReverseName(q)).toBe(parseIp('10.7.0.10'));
    expect(parseReverseName('1.2.3.in-addr.arpa')).toBeNull();
    const ptr: DnsMessage = { ...base, response: true, questions: [{ name: q, type: QType.PTR, class: CLASS_IN }], answers: [{ name: q, type: QType.PTR, class: CLASS_IN, ttl: 60, data: 'web-1.shop.example.internal' }] };
    expect(decodeDns(encodeDns(ptr))).toEqual(ptr);
    for (const rcode of [Rcode.NXDOMAIN, Rcode.REFUSED]) expect(decodeDns(encodeDns({ ...base, response: true, rcode })).rcode).toBe(rcode);
  });

  it('keeps an answer within 512 bytes and sets TC when answers do not fit', () => {
    const answers = Array.from({ length: 40 }, (_, i) => ({ name: 'web-1.shop.example.internal', type: QType.A, class: CLASS_IN, ttl: 60, data: i }));
    const b = encodeDns({ ...base, response: true, answers });
    expect(b.length).toBeLessThanOrEqual(DNS_UDP_MAX);
    const d = decodeDns(b);
    expect(d.truncated).toBe(true);
    expect(d.answers.length).toBeLessThan(40);
    expect(d.answers.length).toBeGreaterThan(0);
  });

  it('follows compression pointers and rejects loops and bad labels', () => {
    // question "a.b", answer name = pointer to offset 12
    const q = Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, 97, 1, 98, 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
    expect(decodeDns(q).answers[0]).toEqual({ name: 'a.b', type: 1, class: 1, ttl: 60, data: parseIp('10.0.0.1') });
    const loop = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(codeOf(() => decodeDns(loop))).toBe('BAD_HEADER');
    const badLabel = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 0, 1]);
    expect(codeOf(() => decodeDns(badLabel))).toBe('BAD_HEADER');
    expect(codeOf(() => decodeDns(Buffer.alloc(5)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeDns(Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 97])))).toBe('TRUNCATED');
    const long = Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 97)])), Buffer.from([0, 0, 1, 0, 1])]);
    expect(codeOf(() => decodeDns(long))).toBe('BAD_LENGTH');
    expect(codeOf(() => encodeDns({ ...base, questions: [{ name: `${'a'.repeat(64)}.b`, type: 1, class: 1 }] }))).toBe('BAD_LENGTH');
  });

  it('never throws anything but WireError on random or mutated input', () => {
    const good = encodeDns({ ...base, response: true, answers: [{ name: 'x.y', type: QType.PTR, class: CLASS_IN, ttl: 1, data: 'web-1.y' }] });
    for (let i = 0; i < 5000; i++) {
      const b = i % 2 ? randomBytes(i % 200) : Buffer.from(good);
      if (i % 2 === 0) for (let k = 0; k < 1 + (i % 6); k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      codeOf(() => decodeDns(b));
    }
  });
});
