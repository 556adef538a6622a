// The spec's own messages: FRAME, VARP, RELAY and the common header, checked
// byte for byte against the tables in docs/wire.md.
import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import {
  FRAME_FLAG_SEALED,
  KIND_FRAME,
  KIND_RELAY,
  KIND_VARP,
  RELAY_INITIAL_HOPS,
  VARP_ANNOUNCE,
  VARP_FLAG_AUTH,
  VARP_FLAG_GRATUITOUS,
  VARP_FLAG_HAS_IP,
  VARP_FLAG_PROXY,
  VARP_REQUEST,
  VARP_WITHDRAW,
} from './constants.ts';
import { checkFrame, decodeFrame, encodeFrame, writeFrameHeader } from './frame.ts';
import { peekDst, peekEthertype, peekSrc, payloadOffset } from './ethernet.ts';
import { peekKind } from './header.ts';
import { decodeRelay, encodeRelay } from './relay.ts';
import { decodeVarp, encodeVarp, type VarpMessage } from './varp.ts';
import { parseIp, parseMac } from './addr.ts';
import { expectWireError, hex } from './testing.ts';

const ETH = hex('ffffffffffff 025d0000000a 0806 0001080006040001025d0000000a0a07000a0000000000000a07000b');

describe('FRAME', () => {
  it('encodes the 10-byte header of the spec table', () => {
    const buf = encodeFrame({ vnet: 7, ethernet: ETH });
    expect(buf.subarray(0, 10)).toEqual(hex('0002 0000 3000 00000007'));
    expect(buf.subarray(10)).toEqual(ETH);
    expect(encodeFrame({ vnet: 0xfffffffe, flags: FRAME_FLAG_SEALED, ethernet: ETH }).subarray(0, 10)).toEqual(hex('0002 0001 3000 fffffffe'));
  });

  it('round-trips and returns the Ethernet frame as a view', () => {
    const buf = encodeFrame({ vnet: 4242, ethernet: ETH });
    const f = decodeFrame(buf);
    expect(f).toEqual({ flags: 0, vnet: 4242, ethernet: ETH });
    expect(f.ethernet.buffer).toBe(buf.buffer);
    expect(decodeFrame(encodeFrame({ vnet: 9, flags: FRAME_FLAG_SEALED, ethernet: ETH })).flags).toBe(FRAME_FLAG_SEALED);
    const inPlace = Buffer.alloc(10 + ETH.length);
    writeFrameHeader(inPlace, 0, 4242);
    ETH.copy(inPlace, 10);
    expect(inPlace).toEqual(buf);
  });

  it('validates without allocating (checkFrame) and peeks the Ethernet header in place', () => {
    const buf = encodeFrame({ vnet: 4242, ethernet: ETH });
    expect(checkFrame(buf)).toBe(4242);
    expect(peekDst(buf, 10)).toBe(0xffffffffffff);
    expect(peekSrc(buf, 10)).toBe(parseMac('02:5d:00:00:00:0a'));
    expect(peekEthertype(buf, 10)).toBe(0x0806);
    expect(payloadOffset(buf, 10)).toBe(14);
    expectWireError(() => peekDst(buf.subarray(0, 23), 10), 'TRUNCATED');
  });

  it('rejects short datagrams, wrong kind, unknown flags, Etherip word and reserved vnets', () => {
    const buf = encodeFrame({ vnet: 7, ethernet: ETH });
    for (let n = 0; n < 24; n++) {
      expectWireError(() => decodeFrame(buf.subarray(0, n)), 'TRUNCATED');
      expectWireError(() => checkFrame(buf.subarray(0, n)), 'TRUNCATED');
    }
    expect(decodeFrame(buf.subarray(0, 24)).ethernet.length).toBe(14);
    const mut = (off: number, v: number) => {
      const b = Buffer.from(buf);
      b[off] = v;
      return b;
    };
    expectWireError(() => decodeFrame(mut(1, 1)), 'BAD_KIND');
    expectWireError(() => decodeFrame(mut(3, 2)), 'BAD_FLAGS');
    expectWireError(() => decodeFrame(mut(2, 0x80)), 'BAD_FLAGS');
    expectWireError(() => decodeFrame(mut(4, 0x40)), 'BAD_VERSION');
    expectWireError(() => decodeFrame(mut(5, 0x01)), 'RESERVED_NONZERO');
    expectWireError(() => decodeFrame(mut(4, 0x31)), 'RESERVED_NONZERO');
    expectWireError(() => decodeFrame(mut(9, 0)), 'BAD_VNET');
    expectWireError(() => decodeFrame(mut(9, 1)), 'BAD_VNET');
    for (const vnet of [0, 1, -1, 2 ** 32, 1.5]) expectWireError(() => encodeFrame({ vnet, ethernet: ETH }), 'BAD_VNET');
    expectWireError(() => encodeFrame({ vnet: 7, flags: 2, ethernet: ETH }), 'BAD_FLAGS');
    expectWireError(() => encodeFrame({ vnet: 7, ethernet: ETH.subarray(0, 13) }), 'BAD_LENGTH');
  });
});

const REQUEST: VarpMessage = { opcode: VARP_REQUEST, vnet: 7, mac: parseMac('02:5d:00:00:00:0a'), flags: 0, ip: 0, coa: parseIp('127.0.0.2'), nonce: 0xdeadbeef, version: 1 };
const REQUEST_BYTES = hex('0001 0001 00000007 025d0000000a 00 00 00000000 7f000002 deadbeef 00000001');
const ANNOUNCE: VarpMessage = { opcode: VARP_ANNOUNCE, vnet: 7, mac: parseMac('02:5d:00:00:00:0a'), flags: VARP_FLAG_HAS_IP | VARP_FLAG_GRATUITOUS, ip: parseIp('10.7.0.10'), coa: parseIp('198.18.0.3'), nonce: 0, version: 0xfffffffe };

describe('VARP', () => {
  it('encodes the 32-byte layout of the spec table', () => {
    expect(encodeVarp(REQUEST)).toEqual(REQUEST_BYTES);
    expect(decodeVarp(REQUEST_BYTES)).toEqual(REQUEST);
  });

  it('round-trips every opcode and flag combination the spec allows', () => {
    const byIp = { ...REQUEST, mac: 0, flags: VARP_FLAG_HAS_IP, ip: parseIp('10.7.0.11') };
    const withdraw = { ...ANNOUNCE, opcode: VARP_WITHDRAW, flags: 0, ip: 0 };
    const proxy = { ...ANNOUNCE, flags: VARP_FLAG_PROXY | VARP_FLAG_HAS_IP };
    for (const m of [REQUEST, byIp, ANNOUNCE, withdraw, proxy]) expect(decodeVarp(encodeVarp(m))).toEqual(m);
  });

  it('appends the HMAC-SHA-256 trailer over bytes 0..31 when keyed, and verifies it', () => {
    const key = Buffer.from('deployment varp key');
    const buf = encodeVarp(REQUEST, key);
    expect(buf.length).toBe(48);
    expect(buf[14]).toBe(VARP_FLAG_AUTH);
    expect(buf.subarray(32)).toEqual(createHmac('sha256', key).update(buf.subarray(0, 32)).digest().subarray(0, 16));
    expect(decodeVarp(buf, key)).toEqual({ ...REQUEST, flags: VARP_FLAG_AUTH });
    // Without a key configured the trailer is accepted unverified.
    expect(decodeVarp(buf).opcode).toBe(VARP_REQUEST);
    // AUTH is set exactly when a key is given.
    expect(encodeVarp({ ...REQUEST, flags: VARP_FLAG_AUTH }).length).toBe(32);
  });

  it('drops unauthenticated or forged messages when a key is configured', () => {
    const key = Buffer.from('deployment varp key');
    expectWireError(() => decodeVarp(REQUEST_BYTES, key), 'BAD_AUTH');
    expectWireError(() => decodeVarp(encodeVarp(REQUEST, Buffer.from('another key')), key), 'BAD_AUTH');
    const tampered = encodeVarp(REQUEST, key);
    tampered[23] = tampered[23]! ^ 1; // COA changed after signing
    expectWireError(() => decodeVarp(tampered, key), 'BAD_AUTH');
    const badTag = encodeVarp(REQUEST, key);
    badTag[47] = badTag[47]! ^ 0x80;
    expectWireError(() => decodeVarp(badTag, key), 'BAD_AUTH');
    expectWireError(() => encodeVarp(REQUEST, Buffer.alloc(0)), 'BAD_AUTH');
  });

  it('rejects every length but 32 (48 with AUTH)', () => {
    for (let n = 0; n < 32; n++) expectWireError(() => decodeVarp(REQUEST_BYTES.subarray(0, n)), 'TRUNCATED');
    expectWireError(() => decodeVarp(Buffer.concat([REQUEST_BYTES, Buffer.alloc(1)])), 'BAD_LENGTH');
    expectWireError(() => decodeVarp(Buffer.concat([REQUEST_BYTES, Buffer.alloc(16)])), 'BAD_LENGTH');
    const authed = encodeVarp(REQUEST, Buffer.from('k'));
    for (let n = 32; n < 48; n++) expectWireError(() => decodeVarp(authed.subarray(0, n)), 'BAD_LENGTH');
    expectWireError(() => decodeVarp(Buffer.concat([authed, Buffer.alloc(1)])), 'BAD_LENGTH');
  });

  it('rejects bad kind, opcodes, flags, reserved byte, vnets and field combinations', () => {
    const mut = (off: number, v: number, base = REQUEST_BYTES) => {
      const b = Buffer.from(base);
      b[off] = v;
      return b;
    };
    expectWireError(() => decodeVarp(mut(1, 2)), 'BAD_KIND');
    for (const op of [0, 4, 0xff]) expectWireError(() => decodeVarp(mut(3, op)), 'BAD_OPCODE');
    expectWireError(() => decodeVarp(mut(2, 1)), 'BAD_OPCODE');
    for (const f of [0x10, 0x80]) expectWireError(() => decodeVarp(mut(14, f)), 'BAD_FLAGS');
    expectWireError(() => decodeVarp(mut(15, 1)), 'RESERVED_NONZERO');
    expectWireError(() => decodeVarp(mut(7, 0)), 'BAD_VNET');
    expectWireError(() => decodeVarp(mut(7, 1)), 'BAD_VNET');
    expectWireError(() => decodeVarp(mut(19, 5)), 'BAD_FLAGS'); // IP without HAS_IP
    expectWireError(() => decodeVarp(mut(14, VARP_FLAG_GRATUITOUS)), 'BAD_FLAGS'); // gratuitous REQUEST
    expectWireError(() => decodeVarp(mut(14, VARP_FLAG_PROXY)), 'BAD_FLAGS');
    const zeroMac = Buffer.from(REQUEST_BYTES);
    zeroMac.fill(0, 8, 14);
    expectWireError(() => decodeVarp(zeroMac), 'BAD_FLAGS'); // REQUEST naming nothing
    const ann = encodeVarp(ANNOUNCE);
    const annZero = Buffer.from(ann);
    annZero.fill(0, 8, 14);
    expectWireError(() => decodeVarp(annZero), 'BAD_ADDRESS');
    expectWireError(() => decodeVarp(mut(8, 0x03, ann)), 'BAD_ADDRESS'); // group MAC
    expectWireError(() => encodeVarp({ ...REQUEST, opcode: 9 }), 'BAD_OPCODE');
    expectWireError(() => encodeVarp({ ...REQUEST, vnet: 1 }), 'BAD_VNET');
    expectWireError(() => encodeVarp({ ...REQUEST, flags: 0x20 }), 'BAD_FLAGS');
    expectWireError(() => encodeVarp({ ...REQUEST, ip: 5 }), 'BAD_FLAGS');
    expectWireError(() => encodeVarp({ ...REQUEST, mac: 2 ** 48 }), 'BAD_ADDRESS');
    expect(expectWireError(() => encodeVarp({ ...REQUEST, nonce: -1 }), 'BAD_HEADER').message).toContain('nonce');
  });
});

describe('RELAY and the common header', () => {
  it('encodes the 8-byte header of the spec table around the inner message, byte for byte', () => {
    const buf = encodeRelay({ hops: RELAY_INITIAL_HOPS, origin: parseIp('198.18.0.2'), inner: REQUEST_BYTES });
    expect(buf.subarray(0, 8)).toEqual(hex('0003 04 00 c6120002'));
    expect(buf.subarray(8)).toEqual(REQUEST_BYTES);
    const r = decodeRelay(buf);
    expect(r).toEqual({ hops: 4, origin: parseIp('198.18.0.2'), inner: REQUEST_BYTES });
    expect(r.inner.buffer).toBe(buf.buffer);
    const frame = encodeFrame({ vnet: 7, ethernet: ETH });
    expect(decodeRelay(encodeRelay({ hops: 1, origin: 1, inner: frame })).inner).toEqual(frame);
  });

  it('decodes a RELAY with 0 hops left (handled, never forwarded) but never encodes one', () => {
    const buf = encodeRelay({ hops: 1, origin: 1, inner: REQUEST_BYTES });
    buf[2] = 0;
    expect(decodeRelay(buf).hops).toBe(0);
    for (const hops of [0, 256, -1, 1.5]) expectWireError(() => encodeRelay({ hops, origin: 1, inner: REQUEST_BYTES }), 'BAD_HOPS');
  });

  it('rejects truncation, wrong kind, reserved byte and relays nested in relays', () => {
    const buf = encodeRelay({ hops: 4, origin: 1, inner: REQUEST_BYTES });
    for (let n = 0; n < 12; n++) expectWireError(() => decodeRelay(buf.subarray(0, n)), 'TRUNCATED');
    const mut = (off: number, v: number) => {
      const b = Buffer.from(buf);
      b[off] = v;
      return b;
    };
    expectWireError(() => decodeRelay(mut(1, 1)), 'BAD_KIND');
    expectWireError(() => decodeRelay(mut(3, 1)), 'RESERVED_NONZERO');
    expectWireError(() => decodeRelay(mut(9, 3)), 'BAD_KIND');
    expectWireError(() => decodeRelay(mut(9, 0)), 'BAD_KIND');
    expectWireError(() => encodeRelay({ hops: 4, origin: 1, inner: buf }), 'BAD_KIND');
    expectWireError(() => encodeRelay({ hops: 4, origin: 1, inner: Buffer.alloc(3) }), 'TRUNCATED');
  });

  it('peeks the kind for dispatch and rejects anything else', () => {
    expect(peekKind(REQUEST_BYTES)).toBe(KIND_VARP);
    expect(peekKind(encodeFrame({ vnet: 7, ethernet: ETH }))).toBe(KIND_FRAME);
    expect(peekKind(encodeRelay({ hops: 4, origin: 1, inner: REQUEST_BYTES }))).toBe(KIND_RELAY);
    for (let n = 0; n < 4; n++) expectWireError(() => peekKind(REQUEST_BYTES.subarray(0, n)), 'TRUNCATED');
    for (const k of ['0000', '0004', 'ffff', '0100']) expectWireError(() => peekKind(hex(`${k}0000`)), 'BAD_KIND');
  });
});
