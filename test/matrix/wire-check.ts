// What a capture of the underlay holds, checked against docs/wire.md with
// node:crypto alone (not the agent's codecs): FRAMEs of a vnet, SEALED
// frames' tags under a key the console holds, VARP messages' HMAC trailers.
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';

// docs/wire.md: common header, FRAME, SEALED frames, VARP.
const KIND_VARP = 1;
const KIND_FRAME = 2;
const FRAME_HEADER = 10;
const FLAG_SEALED = 1;
const KEY_ID_AT = FRAME_HEADER;
const SEQ_AT = KEY_ID_AT + 4;
const PAYLOAD_AT = SEQ_AT + 8;
const TAG = 16;
const VARP_LEN = 32;
const VARP_FLAGS_AT = 14;
const VARP_FLAG_AUTH = 2;

export interface SealKeyMaterial {
  keyId: number;
  key: Buffer;
  salt: Buffer;
}

export const isVarp = (p: Buffer) => p.length >= 4 && p.readUInt16BE(0) === KIND_VARP;
export const isFrameOf = (vnid: number) => (p: Buffer) => p.length >= FRAME_HEADER && p.readUInt16BE(0) === KIND_FRAME && p.readUInt32BE(6) === vnid;
export const isSealed = (p: Buffer) => (p.readUInt16BE(2) & FLAG_SEALED) !== 0;
export const keyIdOf = (p: Buffer) => p.readUInt32BE(KEY_ID_AT);
export const sequenceOf = (p: Buffer) => p.readBigUInt64BE(SEQ_AT);
/** The Ethernet frame inside a SEALED FRAME (clear for auth, ciphertext for conf). */
export const sealedPayload = (p: Buffer) => p.subarray(PAYLOAD_AT, p.length - TAG);

/**
 * Opens a SEALED FRAME with `k`: for `auth` the tag must verify over header,
 * key id, sequence and the clear frame; for `conf` the frame is decrypted.
 * Returns the guest's Ethernet frame, or null when the tag does not verify.
 */
export function openSealed(p: Buffer, level: 'auth' | 'conf', k: SealKeyMaterial): Buffer | null {
  const nonce = Buffer.concat([k.salt, p.subarray(SEQ_AT, PAYLOAD_AT)]);
  const d = createDecipheriv('aes-256-gcm', k.key, nonce, { authTagLength: TAG });
  d.setAuthTag(p.subarray(p.length - TAG));
  try {
    if (level === 'auth') {
      d.setAAD(p.subarray(0, p.length - TAG));
      d.final();
      return Buffer.from(sealedPayload(p));
    }
    d.setAAD(p.subarray(0, PAYLOAD_AT));
    return Buffer.concat([d.update(sealedPayload(p)), d.final()]);
  } catch {
    return null;
  }
}

/** True when a VARP message carries the AUTH trailer and it is the HMAC-SHA-256 of its 32 bytes under `key`. */
export function varpSignedWith(p: Buffer, key: Buffer): boolean {
  if (p.length !== VARP_LEN + 16 || (p[VARP_FLAGS_AT]! & VARP_FLAG_AUTH) === 0) return false;
  const want = createHmac('sha256', key).update(p.subarray(0, VARP_LEN)).digest().subarray(0, 16);
  return timingSafeEqual(want, p.subarray(VARP_LEN));
}
