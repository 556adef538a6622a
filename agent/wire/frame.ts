// FRAME (kind 2): a guest Ethernet frame on a vnet (spec "FRAME"). The
// Etherip word is RFC 3378's; the seed widens it with a 32-bit vnet id.
import {
  ETH_HEADER_LEN,
  ETHERIP_VERSION,
  ETHERIP_WORD,
  FRAME_ETHERIP_OFFSET,
  FRAME_FLAGS_KNOWN,
  FRAME_FLAGS_OFFSET,
  FRAME_HEADER_LEN,
  FRAME_MIN_LEN,
  FRAME_VNET_OFFSET,
  KIND_FRAME,
  VNET_INVALID,
  VNET_MAX,
  VNET_PHYSICAL,
} from './constants.ts';
import { WireError, need } from './errors.ts';

export interface FrameMessage {
  /** FRAME_FLAG_SEALED when the security transform was applied. */
  flags: number;
  vnet: number;
  /** The Ethernet frame (or, when SEALED, key id + sequence + payload + tag). */
  ethernet: Buffer;
}

export interface FrameInput {
  vnet: number;
  flags?: number;
  ethernet: Buffer;
}

/** Throws BAD_VNET unless `vnet` is a virtual vnet id (2..2^32-1). */
export function checkVnet(vnet: number, what: string): void {
  if (!(Number.isInteger(vnet) && vnet >= 0 && vnet <= VNET_MAX)) {
    throw new WireError('BAD_VNET', `${what} vnet: ${vnet} is not a 32-bit id`);
  }
  if (vnet === VNET_INVALID) throw new WireError('BAD_VNET', `${what} vnet: 0 is invalid`);
  if (vnet === VNET_PHYSICAL) throw new WireError('BAD_VNET', `${what} vnet: 1 is the physical network`);
}

/** Writes the 10-byte FRAME header at `offset`, for callers that build the datagram in place. */
export function writeFrameHeader(out: Buffer, offset: number, vnet: number, flags = 0): void {
  checkVnet(vnet, 'FRAME');
  if ((flags & ~FRAME_FLAGS_KNOWN) !== 0 || !Number.isInteger(flags) || flags < 0) {
    throw new WireError('BAD_FLAGS', `FRAME flags: unknown bits in 0x${flags.toString(16)}`);
  }
  need(out, offset + FRAME_HEADER_LEN, 'FRAME header target');
  out.writeUInt16BE(KIND_FRAME, offset);
  out.writeUInt16BE(flags, offset + FRAME_FLAGS_OFFSET);
  out.writeUInt16BE(ETHERIP_WORD, offset + FRAME_ETHERIP_OFFSET);
  out.writeUInt32BE(vnet, offset + FRAME_VNET_OFFSET);
}

export function encodeFrame(f: FrameInput): Buffer {
  if (f.ethernet.length < ETH_HEADER_LEN) {
    throw new WireError('BAD_LENGTH', `FRAME ethernet: ${f.ethernet.length} bytes, need at least ${ETH_HEADER_LEN}`);
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + f.ethernet.length);
  writeFrameHeader(out, 0, f.vnet, f.flags ?? 0);
  f.ethernet.copy(out, FRAME_HEADER_LEN);
  return out;
}

/**
 * Validates a FRAME datagram exactly as decodeFrame does and returns its vnet,
 * without allocating: for the receive path, which then peeks the Ethernet
 * header at FRAME_HEADER_LEN and reads the flags at FRAME_FLAGS_OFFSET.
 */
export function checkFrame(buf: Buffer): number {
  need(buf, FRAME_MIN_LEN, 'FRAME');
  const kind = buf.readUInt16BE(0);
  if (kind !== KIND_FRAME) throw new WireError('BAD_KIND', `FRAME kind: ${kind}`);
  const flags = buf.readUInt16BE(FRAME_FLAGS_OFFSET);
  if ((flags & ~FRAME_FLAGS_KNOWN) !== 0) throw new WireError('BAD_FLAGS', `FRAME flags: unknown bits in 0x${flags.toString(16)}`);
  const word = buf.readUInt16BE(FRAME_ETHERIP_OFFSET);
  if (word !== ETHERIP_WORD) {
    if (word >>> 12 !== ETHERIP_VERSION) throw new WireError('BAD_VERSION', `FRAME Etherip version: ${word >>> 12}`);
    throw new WireError('RESERVED_NONZERO', 'FRAME Etherip reserved bits');
  }
  const vnet = buf.readUInt32BE(FRAME_VNET_OFFSET);
  if (vnet === VNET_INVALID || vnet === VNET_PHYSICAL) checkVnet(vnet, 'FRAME');
  return vnet;
}

export function decodeFrame(buf: Buffer): FrameMessage {
  const vnet = checkFrame(buf);
  return { flags: buf.readUInt16BE(FRAME_FLAGS_OFFSET), vnet, ethernet: buf.subarray(FRAME_HEADER_LEN) };
}
