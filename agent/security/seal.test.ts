import { describe, expect, it } from 'vitest';
import { createCipheriv, randomBytes } from 'node:crypto';
import { WireError } from '../wire/index.ts';
import {
  SEAL_OVERHEAD,
  SEAL_PAYLOAD_OFFSET,
  SEAL_TAG_LEN,
  SealError,
  makeSealKey,
  openFrame,
  peekConfDestination,
  peekSealed,
  sealFrame,
  type SealLevel,
} from './seal.ts';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const SALT = Buffer.from('a1b2c3d4', 'hex');
const key = makeSealKey(7, KEY, SALT);
const MARK = Buffer.from('SOFTUDC-CONFIDENTIAL-PAYLOAD-0123456789');

function frame(): Buffer {
  const f = Buffer.alloc(14 + 20 + 8 + MARK.length);
  Buffer.from('025d000000020 25d00000001'.replace(/ /g, ''), 'hex').copy(f, 0);
  f.writeUInt16BE(0x0800, 12);
  MARK.copy(f, 42);
  return f;
}

describe('sealFrame / openFrame', () => {
  for (const level of ['auth', 'conf'] as SealLevel[]) {
    it(`round-trips a frame at level ${level}`, () => {
      const eth = frame();
      const d = sealFrame({ vnet: 100, level, key, seq: 0x0102030400000005n, ethernet: eth });
      expect(d.length).toBe(10 + eth.length + SEAL_OVERHEAD);
      expect(peekSealed(d)).toEqual({ vnet: 100, keyId: 7, seq: 0x0102030400000005n });
      expect(openFrame(d, level, key)).toEqual(eth);
    });
  }

  it('lays out header, key id, sequence, payload and tag as the spec says (checked against AES-GCM directly)', () => {
    const eth = frame();
    const seq = 0xc612000100000002n;
    for (const level of ['auth', 'conf'] as SealLevel[]) {
      const d = sealFrame({ vnet: 0xfffffffe, level, key, seq, ethernet: eth });
      expect(d.subarray(0, 10).toString('hex')).toBe('000200013000fffffffe');
      expect(d.readUInt32BE(10)).toBe(7);
      expect(d.readBigUInt64BE(14)).toBe(seq);
      const nonce = Buffer.concat([SALT, d.subarray(14, 22)]);
      const c = createCipheriv('aes-256-gcm', KEY, nonce);
      let payload: Buffer;
      if (level === 'conf') {
        c.setAAD(d.subarray(0, 22));
        payload = Buffer.concat([c.update(eth), c.final()]);
      } else {
        c.setAAD(Buffer.concat([d.subarray(0, 22), eth]));
        c.final();
        payload = eth;
      }
      expect(d.subarray(SEAL_PAYLOAD_OFFSET, d.length - SEAL_TAG_LEN)).toEqual(payload);
      expect(d.subarray(d.length - SEAL_TAG_LEN)).toEqual(c.getAuthTag());
    }
  });

  it('conf: the datagram carries no piece of the plaintext payload; auth: it carries it in clear', () => {
    const eth = frame();
    const conf = sealFrame({ vnet: 100, level: 'conf', key, seq: 1n, ethernet: eth });
    for (let i = 0; i + 8 <= MARK.length; i++) expect(conf.includes(MARK.subarray(i, i + 8))).toBe(false);
    expect(conf.includes(eth.subarray(0, 12))).toBe(false); // not even the MAC addresses
    const auth = sealFrame({ vnet: 100, level: 'auth', key, seq: 1n, ethernet: eth });
    expect(auth.includes(MARK)).toBe(true);
  });

  for (const level of ['auth', 'conf'] as SealLevel[]) {
    it(`${level}: a change to any single byte makes the frame fail`, () => {
      const d = sealFrame({ vnet: 100, level, key, seq: 42n, ethernet: frame() });
      for (let i = 0; i < d.length; i++) {
        const t = Buffer.from(d);
        t[i] = t[i]! ^ 0x01;
        expect(() => openFrame(t, level, key), `byte ${i}`).toThrow();
        try {
          openFrame(t, level, key);
        } catch (err) {
          // Header bytes fail the FRAME checks, key id bytes the key match, everything else the tag.
          expect(err instanceof SealError || err instanceof WireError, `byte ${i}`).toBe(true);
          if (i >= 14) expect((err as SealError).code, `byte ${i}`).toBe('BAD_TAG');
        }
      }
    });
  }

  it('rejects the wrong key, salt, level or a truncated datagram', () => {
    const d = sealFrame({ vnet: 100, level: 'conf', key, seq: 9n, ethernet: frame() });
    const otherKey = makeSealKey(7, randomBytes(32), SALT);
    const otherSalt = makeSealKey(7, KEY, Buffer.from('00000000', 'hex'));
    expect(() => openFrame(d, 'conf', otherKey)).toThrow(/authenticate/);
    expect(() => openFrame(d, 'conf', otherSalt)).toThrow(/authenticate/);
    expect(() => openFrame(d, 'auth', key)).toThrow(/authenticate/);
    expect(() => openFrame(d, 'conf', makeSealKey(8, KEY, SALT))).toThrow(/key 7/);
    expect(() => peekSealed(d.subarray(0, 40))).toThrow(SealError);
    const plain = Buffer.from(d);
    plain.writeUInt16BE(0, 2);
    expect(() => peekSealed(plain)).toThrow(/SEALED flag/);
  });

  it('reads the destination MAC of a conf frame with the key (proxy routing), never without it', () => {
    const eth = frame();
    const d = sealFrame({ vnet: 100, level: 'conf', key, seq: 0xc6120002_0000_0009n, ethernet: eth });
    expect(peekConfDestination(d, key)).toBe(eth.readUIntBE(0, 6));
    expect(peekConfDestination(d, makeSealKey(7, randomBytes(32), SALT))).not.toBe(eth.readUIntBE(0, 6));
    expect(peekConfDestination(d, makeSealKey(8, KEY, SALT))).toBeNull();
  });

  it('validates key material and sequences', () => {
    expect(() => makeSealKey(1, Buffer.alloc(16), SALT)).toThrow(/32/);
    expect(() => makeSealKey(1, KEY, Buffer.alloc(8))).toThrow(/salt/);
    expect(() => makeSealKey(-1, KEY, SALT)).toThrow(/u32/);
    expect(() => sealFrame({ vnet: 100, level: 'conf', key, seq: 1n << 64n, ethernet: frame() })).toThrow(/u64/);
    expect(() => sealFrame({ vnet: 1, level: 'conf', key, seq: 1n, ethernet: frame() })).toThrow(WireError);
  });
});
