import { describe, expect, it } from 'vitest';
import { decodeArp, encodeArp } from './arp.ts';
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from './constants.ts';
import { decodeEthernet, encodeEthernet, payloadOffset, peekDst, peekEthertype, peekSrc } from './ethernet.ts';
import { BROADCAST_MAC, parseIp, parseMac } from './addr.ts';
import { expectWireError, hex } from './testing.ts';

// A guest's ARP request for 10.7.0.11, as a packet capture shows it.
const ARP_FRAME = hex(`
  ffffffffffff 025d0000000a 0806
  0001 0800 06 04 0001 025d0000000a 0a07000a 000000000000 0a07000b`);

describe('Ethernet', () => {
  it('decodes a captured untagged frame and its ARP payload', () => {
    const eth = decodeEthernet(ARP_FRAME);
    expect(eth).toMatchObject({ dst: BROADCAST_MAC, src: parseMac('02:5d:00:00:00:0a'), ethertype: ETHERTYPE_ARP });
    expect(eth.vlan).toBeUndefined();
    expect(decodeArp(eth.payload)).toEqual({
      op: ARP_OP_REQUEST,
      sha: parseMac('02:5d:00:00:00:0a'),
      spa: parseIp('10.7.0.10'),
      tha: 0,
      tpa: parseIp('10.7.0.11'),
    });
  });

  it('returns views, not copies', () => {
    const eth = decodeEthernet(ARP_FRAME);
    expect(eth.payload.buffer).toBe(ARP_FRAME.buffer);
    expect(eth.payload.byteOffset).toBe(ARP_FRAME.byteOffset + 14);
  });

  it('round-trips untagged and 802.1Q-tagged frames byte for byte', () => {
    const payload = Buffer.from('hello vnet');
    const plain = { dst: parseMac('02:00:00:00:00:02'), src: parseMac('02:00:00:00:00:01'), ethertype: ETHERTYPE_IPV4, payload };
    const a = encodeEthernet(plain);
    expect(a.subarray(0, 14)).toEqual(hex('020000000002 020000000001 0800'));
    expect(decodeEthernet(a)).toEqual(plain);
    const tagged = { ...plain, vlan: { pcp: 5, dei: 1, vid: 100 } };
    const b = encodeEthernet(tagged);
    expect(b.subarray(12, 18)).toEqual(hex('8100 b064 0800'));
    expect(decodeEthernet(b)).toEqual(tagged);
    expect(peekEthertype(b)).toBe(ETHERTYPE_IPV4);
    expect(payloadOffset(b)).toBe(18);
    expect(payloadOffset(a)).toBe(14);
    expect(peekDst(b)).toBe(plain.dst);
    expect(peekSrc(b)).toBe(plain.src);
  });

  it('rejects every truncation below the header with TRUNCATED, in decoder and peeks', () => {
    for (let n = 0; n < 14; n++) {
      const cut = ARP_FRAME.subarray(0, n);
      for (const fn of [decodeEthernet, peekDst, peekSrc, peekEthertype, payloadOffset]) {
        expectWireError(() => fn(cut), 'TRUNCATED');
      }
    }
    const tagged = encodeEthernet({ dst: 2, src: 4, vlan: { pcp: 0, dei: 0, vid: 1 }, ethertype: 0x0800, payload: Buffer.alloc(0) });
    for (let n = 14; n < 18; n++) {
      expectWireError(() => decodeEthernet(tagged.subarray(0, n)), 'TRUNCATED');
      expectWireError(() => peekEthertype(tagged.subarray(0, n)), 'TRUNCATED');
    }
  });

  it('refuses to encode out-of-range fields, naming them', () => {
    const base = { dst: 2, src: 4, ethertype: 0x0800, payload: Buffer.alloc(0) };
    expect(expectWireError(() => encodeEthernet({ ...base, dst: 2 ** 48 }), 'BAD_ADDRESS').message).toContain('dst');
    expect(expectWireError(() => encodeEthernet({ ...base, src: -1 }), 'BAD_ADDRESS').message).toContain('src');
    expectWireError(() => encodeEthernet({ ...base, ethertype: 0x10000 }), 'BAD_HEADER');
    expectWireError(() => encodeEthernet({ ...base, vlan: { pcp: 8, dei: 0, vid: 1 } }), 'BAD_HEADER');
    expectWireError(() => encodeEthernet({ ...base, vlan: { pcp: 0, dei: 2, vid: 1 } }), 'BAD_HEADER');
    expectWireError(() => encodeEthernet({ ...base, vlan: { pcp: 0, dei: 0, vid: 4096 } }), 'BAD_HEADER');
  });
});

describe('ARP', () => {
  const reply = { op: ARP_OP_REPLY, sha: parseMac('02:5d:00:00:00:0b'), spa: parseIp('10.7.0.11'), tha: parseMac('02:5d:00:00:00:0a'), tpa: parseIp('10.7.0.10') };

  it('round-trips and matches the RFC 826 layout', () => {
    const buf = encodeArp(reply);
    expect(buf).toEqual(hex('0001 0800 06 04 0002 025d0000000b 0a07000b 025d0000000a 0a07000a'));
    expect(decodeArp(buf)).toEqual(reply);
  });

  it('accepts Ethernet padding after the 28 bytes', () => {
    expect(decodeArp(Buffer.concat([encodeArp(reply), Buffer.alloc(18)]))).toEqual(reply);
  });

  it('rejects truncation, foreign hardware/protocol types and unknown operations', () => {
    const good = encodeArp(reply);
    for (let n = 0; n < ARP_LEN; n++) expectWireError(() => decodeArp(good.subarray(0, n)), 'TRUNCATED');
    const mutate = (off: number, v: number) => {
      const b = Buffer.from(good);
      b[off] = v;
      return b;
    };
    expectWireError(() => decodeArp(mutate(1, 6)), 'BAD_HEADER'); // htype IEEE 802
    expectWireError(() => decodeArp(mutate(2, 0x86)), 'BAD_HEADER'); // ptype 0x86dd
    expectWireError(() => decodeArp(mutate(4, 8)), 'BAD_HEADER');
    expectWireError(() => decodeArp(mutate(5, 16)), 'BAD_HEADER');
    expectWireError(() => decodeArp(mutate(7, 3)), 'BAD_OPCODE'); // RARP request
    expectWireError(() => decodeArp(mutate(7, 0)), 'BAD_OPCODE');
    expectWireError(() => encodeArp({ ...reply, op: 3 }), 'BAD_OPCODE');
    expectWireError(() => encodeArp({ ...reply, spa: 2 ** 32 }), 'BAD_ADDRESS');
  });
});
