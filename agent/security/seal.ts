// SEALED frames (docs/wire.md "SEALED frames", the seed's IPsec ESP level):
// after the 10-byte FRAME header come a u32 key id, a u64 sequence, the
// payload and a 16-byte AES-256-GCM tag. Nonce = 4-byte key salt || 8-byte
// sequence. Additional data = header + key id + sequence, and for `auth` also
// the frame itself (sent in clear: GMAC). For `conf` the payload is the
// ciphertext of the frame. Pure: no state, no clock; keys come from the caller.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { SEAL_KEY_BYTES, SEAL_SALT_BYTES } from '../../contract/limits.ts';
import { ETH_HEADER_LEN, FRAME_FLAG_SEALED, FRAME_FLAGS_OFFSET, FRAME_HEADER_LEN, KIND_FRAME, checkFrame, writeFrameHeader } from '../wire/index.ts';

export const SEAL_KEY_ID_LEN = 4;
export const SEAL_SEQ_LEN = 8;
export const SEAL_TAG_LEN = 16;
/** Keys are AES-256 (SEAL_KEY_BYTES); the nonce is salt (SEAL_SALT_BYTES, 4) || sequence (8): GCM's 96-bit IV. */
export const SEAL_NONCE_LEN = SEAL_SALT_BYTES + SEAL_SEQ_LEN;
export const SEAL_KEY_ID_OFFSET = FRAME_HEADER_LEN;
export const SEAL_SEQ_OFFSET = SEAL_KEY_ID_OFFSET + SEAL_KEY_ID_LEN;
/** Where the payload starts: header + key id + sequence = the conf AAD. */
export const SEAL_PAYLOAD_OFFSET = SEAL_SEQ_OFFSET + SEAL_SEQ_LEN;
/** Bytes a SEALED FRAME adds to a plain one. */
export const SEAL_OVERHEAD = SEAL_KEY_ID_LEN + SEAL_SEQ_LEN + SEAL_TAG_LEN;
/** Header, key id, sequence, a minimal Ethernet header and the tag. */
export const SEALED_MIN_LEN = SEAL_PAYLOAD_OFFSET + ETH_HEADER_LEN + SEAL_TAG_LEN;
export const SEQ_MAX = 0xffff_ffff_ffff_ffffn;

const ALGORITHM = 'aes-256-gcm';

export type SealLevel = 'auth' | 'conf';

export type SealErrorCode = 'TRUNCATED' | 'NOT_SEALED' | 'BAD_TAG' | 'BAD_KEY' | 'BAD_SEQUENCE';

export class SealError extends Error {
  constructor(
    readonly code: SealErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SealError';
  }
}

/** One key epoch of a vnet. `key` is held as a KeyObject so it is not copied per packet. */
export interface SealKey {
  readonly id: number;
  readonly key: KeyObject;
  readonly salt: Buffer;
}

/** Validates raw key material; throws SealError BAD_KEY naming what is wrong. */
export function makeSealKey(id: number, key: Buffer, salt: Buffer): SealKey {
  if (!(Number.isInteger(id) && id >= 0 && id <= 0xffff_ffff)) throw new SealError('BAD_KEY', `key id ${id} is not a u32`);
  if (key.length !== SEAL_KEY_BYTES) throw new SealError('BAD_KEY', `key ${id}: ${key.length} bytes, AES-256 needs ${SEAL_KEY_BYTES}`);
  if (salt.length !== SEAL_SALT_BYTES) throw new SealError('BAD_KEY', `key ${id}: salt of ${salt.length} bytes, need ${SEAL_SALT_BYTES}`);
  return { id, key: createSecretKey(Buffer.from(key)), salt: Buffer.from(salt) };
}

function nonce(salt: Buffer, seq: bigint): Buffer {
  const n = Buffer.allocUnsafe(SEAL_NONCE_LEN);
  salt.copy(n, 0);
  n.writeBigUInt64BE(seq, SEAL_SALT_BYTES);
  return n;
}

export interface SealInput {
  vnet: number;
  level: SealLevel;
  key: SealKey;
  /** u64; never repeat one under the same key (GCM nonce). */
  seq: bigint;
  /** The guest's Ethernet frame. */
  ethernet: Buffer;
}

/** The whole SEALED FRAME datagram. Throws SealError / WireError on bad input (never for a valid frame). */
export function sealFrame(s: SealInput): Buffer {
  if (s.seq < 0n || s.seq > SEQ_MAX) throw new SealError('BAD_SEQUENCE', `sequence ${s.seq} is not a u64`);
  if (s.ethernet.length < ETH_HEADER_LEN) throw new SealError('TRUNCATED', `frame of ${s.ethernet.length} bytes`);
  const len = s.ethernet.length;
  const out = Buffer.allocUnsafe(SEAL_PAYLOAD_OFFSET + len + SEAL_TAG_LEN);
  writeFrameHeader(out, 0, s.vnet, FRAME_FLAG_SEALED);
  out.writeUInt32BE(s.key.id, SEAL_KEY_ID_OFFSET);
  out.writeBigUInt64BE(s.seq, SEAL_SEQ_OFFSET);
  const cipher = createCipheriv(ALGORITHM, s.key.key, nonce(s.key.salt, s.seq), { authTagLength: SEAL_TAG_LEN });
  if (s.level === 'conf') {
    cipher.setAAD(out.subarray(0, SEAL_PAYLOAD_OFFSET));
    const ct = cipher.update(s.ethernet);
    const rest = cipher.final(); // empty for GCM, kept for correctness
    ct.copy(out, SEAL_PAYLOAD_OFFSET);
    rest.copy(out, SEAL_PAYLOAD_OFFSET + ct.length);
  } else {
    s.ethernet.copy(out, SEAL_PAYLOAD_OFFSET);
    cipher.setAAD(out.subarray(0, SEAL_PAYLOAD_OFFSET + len));
    cipher.final();
  }
  cipher.getAuthTag().copy(out, SEAL_PAYLOAD_OFFSET + len);
  return out;
}

export interface SealedHeader {
  vnet: number;
  keyId: number;
  seq: bigint;
}

/**
 * Reads the clear fields of a SEALED FRAME datagram (validated like any
 * FRAME). Nothing here is authenticated yet: use it only to pick the key and
 * to pre-check the anti-replay window.
 */
export function peekSealed(buf: Buffer): SealedHeader {
  const vnet = checkFrame(buf);
  if ((buf.readUInt16BE(FRAME_FLAGS_OFFSET) & FRAME_FLAG_SEALED) === 0) throw new SealError('NOT_SEALED', 'FRAME without the SEALED flag');
  if (buf.length < SEALED_MIN_LEN) throw new SealError('TRUNCATED', `SEALED FRAME of ${buf.length} bytes, need at least ${SEALED_MIN_LEN}`);
  return { vnet, keyId: buf.readUInt32BE(SEAL_KEY_ID_OFFSET), seq: buf.readBigUInt64BE(SEAL_SEQ_OFFSET) };
}

/**
 * Verifies and opens a SEALED FRAME datagram with `key` (the caller picked it
 * by key id). Returns the Ethernet frame (a view into `buf` for `auth`, a new
 * buffer for `conf`); throws SealError BAD_TAG when anything was altered or the
 * key or level is wrong.
 */
export function openFrame(buf: Buffer, level: SealLevel, key: SealKey): Buffer {
  const h = peekSealed(buf);
  if (h.keyId !== key.id) throw new SealError('BAD_KEY', `frame uses key ${h.keyId}, given key ${key.id}`);
  const end = buf.length - SEAL_TAG_LEN;
  const decipher = createDecipheriv(ALGORITHM, key.key, nonce(key.salt, h.seq), { authTagLength: SEAL_TAG_LEN });
  decipher.setAuthTag(buf.subarray(end));
  try {
    if (level === 'conf') {
      decipher.setAAD(buf.subarray(0, SEAL_PAYLOAD_OFFSET));
      const pt = decipher.update(buf.subarray(SEAL_PAYLOAD_OFFSET, end));
      decipher.final();
      return pt;
    }
    decipher.setAAD(buf.subarray(0, end));
    decipher.final();
    return buf.subarray(SEAL_PAYLOAD_OFFSET, end);
  } catch {
    throw new SealError('BAD_TAG', 'SEALED FRAME does not authenticate');
  }
}

/**
 * The destination MAC of a `conf` SEALED FRAME, decrypted without verifying
 * the tag: a proxying vnetd routes by it (spec "RELAY" proxy mode) and the
 * receiving host still authenticates the whole frame. GCM encrypts the first
 * 16-byte block with the counter block nonce || 2 (NIST SP 800-38D, J0 + 1).
 */
export function peekConfDestination(buf: Buffer, key: SealKey): number | null {
  if (buf.length < SEALED_MIN_LEN || buf.readUInt32BE(SEAL_KEY_ID_OFFSET) !== key.id) return null;
  const block = Buffer.alloc(16);
  key.salt.copy(block, 0);
  buf.copy(block, SEAL_SALT_BYTES, SEAL_SEQ_OFFSET, SEAL_PAYLOAD_OFFSET);
  block.writeUInt32BE(2, SEAL_NONCE_LEN);
  const ks = createCipheriv('aes-256-ecb', key.key, null).update(block);
  const mac = Buffer.allocUnsafe(6);
  for (let i = 0; i < 6; i++) mac[i] = buf[SEAL_PAYLOAD_OFFSET + i]! ^ ks[i]!;
  return mac.readUIntBE(0, 6);
}

/** True when `buf` starts like a FRAME with the SEALED flag (no further checks). */
export function isSealedFrame(buf: Buffer): boolean {
  return buf.length >= FRAME_HEADER_LEN && buf.readUInt16BE(0) === KIND_FRAME && (buf.readUInt16BE(FRAME_FLAGS_OFFSET) & FRAME_FLAG_SEALED) !== 0;
}
