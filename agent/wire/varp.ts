// VARP (kind 1): virtual address resolution (spec "VARP"). 32 bytes, or 48
// with the AUTH trailer: HMAC-SHA-256 over bytes 0..31, first 16 bytes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  KIND_VARP,
  MAC_WIDTH,
  VARP_ANNOUNCE,
  VARP_AUTH_LEN,
  VARP_AUTH_TAG_LEN,
  VARP_COA_OFFSET,
  VARP_FLAG_AUTH,
  VARP_FLAG_GRATUITOUS,
  VARP_FLAG_HAS_IP,
  VARP_FLAG_PROXY,
  VARP_FLAGS_KNOWN,
  VARP_FLAGS_OFFSET,
  VARP_IP_OFFSET,
  VARP_LEN,
  VARP_MAC_OFFSET,
  VARP_NONCE_OFFSET,
  VARP_OPCODE_OFFSET,
  VARP_REQUEST,
  VARP_RESERVED_OFFSET,
  VARP_VERSION_OFFSET,
  VARP_VNET_OFFSET,
  VARP_WITHDRAW,
} from './constants.ts';
import { isGroupMac, isValidIp, isValidMac } from './addr.ts';
import { WireError, need } from './errors.ts';
import { checkVnet } from './frame.ts';

export interface VarpMessage {
  opcode: number; // VARP_REQUEST | VARP_ANNOUNCE | VARP_WITHDRAW
  vnet: number;
  /** 0 in a REQUEST by IP. */
  mac: number;
  /** VARP_FLAG_*; on encode AUTH is set exactly when a key is given. */
  flags: number;
  /** 0 unless HAS_IP. */
  ip: number;
  coa: number;
  nonce: number;
  version: number;
}

export function encodeVarp(msg: VarpMessage, key?: Buffer): Buffer {
  if (!Number.isInteger(msg.flags) || msg.flags < 0 || (msg.flags & ~VARP_FLAGS_KNOWN) !== 0) {
    throw new WireError('BAD_FLAGS', `VARP flags: unknown bits in ${msg.flags}`);
  }
  const flags = key ? msg.flags | VARP_FLAG_AUTH : msg.flags & ~VARP_FLAG_AUTH;
  if (msg.opcode !== VARP_REQUEST && msg.opcode !== VARP_ANNOUNCE && msg.opcode !== VARP_WITHDRAW) {
    throw new WireError('BAD_OPCODE', `VARP opcode: ${msg.opcode}`);
  }
  if (!isValidMac(msg.mac)) throw new WireError('BAD_ADDRESS', 'VARP mac: not a 48-bit MAC');
  for (const [name, v] of [['ip', msg.ip], ['coa', msg.coa], ['nonce', msg.nonce], ['version', msg.version]] as const) {
    if (!isValidIp(v)) throw new WireError('BAD_HEADER', `VARP ${name}: not an unsigned 32-bit value`);
  }
  checkSemantics(msg.opcode, msg.vnet, msg.mac, flags, msg.ip);
  const out = Buffer.allocUnsafe(key ? VARP_AUTH_LEN : VARP_LEN);
  out.writeUInt16BE(KIND_VARP, 0);
  out.writeUInt16BE(msg.opcode, VARP_OPCODE_OFFSET);
  out.writeUInt32BE(msg.vnet, VARP_VNET_OFFSET);
  out.writeUIntBE(msg.mac, VARP_MAC_OFFSET, MAC_WIDTH);
  out[VARP_FLAGS_OFFSET] = flags;
  out[VARP_RESERVED_OFFSET] = 0;
  out.writeUInt32BE(msg.ip, VARP_IP_OFFSET);
  out.writeUInt32BE(msg.coa, VARP_COA_OFFSET);
  out.writeUInt32BE(msg.nonce, VARP_NONCE_OFFSET);
  out.writeUInt32BE(msg.version, VARP_VERSION_OFFSET);
  if (key) authTag(key, out).copy(out, VARP_LEN, 0, VARP_AUTH_TAG_LEN);
  return out;
}

/**
 * Decodes a VARP message. With `key`, a missing or wrong trailer is BAD_AUTH
 * (spec: "when a VARP key is configured, messages without a valid trailer are
 * dropped"); without one, a trailer is accepted unverified.
 */
export function decodeVarp(buf: Buffer, key?: Buffer): VarpMessage {
  need(buf, VARP_LEN, 'VARP');
  const kind = buf.readUInt16BE(0);
  if (kind !== KIND_VARP) throw new WireError('BAD_KIND', `VARP kind: ${kind}`);
  const opcode = buf.readUInt16BE(VARP_OPCODE_OFFSET);
  if (opcode !== VARP_REQUEST && opcode !== VARP_ANNOUNCE && opcode !== VARP_WITHDRAW) {
    throw new WireError('BAD_OPCODE', `VARP opcode: ${opcode}`);
  }
  if (buf[VARP_RESERVED_OFFSET] !== 0) throw new WireError('RESERVED_NONZERO', 'VARP reserved byte');
  const flags = buf[VARP_FLAGS_OFFSET]!;
  if ((flags & ~VARP_FLAGS_KNOWN) !== 0) throw new WireError('BAD_FLAGS', `VARP flags: unknown bits in 0x${flags.toString(16)}`);
  const expected = flags & VARP_FLAG_AUTH ? VARP_AUTH_LEN : VARP_LEN;
  if (buf.length !== expected) throw new WireError('BAD_LENGTH', `VARP length ${buf.length}, expected ${expected}`);
  if (key) {
    if (!(flags & VARP_FLAG_AUTH)) throw new WireError('BAD_AUTH', 'VARP: no AUTH trailer while a key is configured');
    const tag = authTag(key, buf).subarray(0, VARP_AUTH_TAG_LEN);
    if (!timingSafeEqual(tag, buf.subarray(VARP_LEN, VARP_AUTH_LEN))) throw new WireError('BAD_AUTH', 'VARP: AUTH trailer does not verify');
  }
  const vnet = buf.readUInt32BE(VARP_VNET_OFFSET);
  const mac = buf.readUIntBE(VARP_MAC_OFFSET, MAC_WIDTH);
  const ip = buf.readUInt32BE(VARP_IP_OFFSET);
  checkSemantics(opcode, vnet, mac, flags, ip);
  return {
    opcode,
    vnet,
    mac,
    flags,
    ip,
    coa: buf.readUInt32BE(VARP_COA_OFFSET),
    nonce: buf.readUInt32BE(VARP_NONCE_OFFSET),
    version: buf.readUInt32BE(VARP_VERSION_OFFSET),
  };
}

// Rules the spec states in prose: IP is 0 without HAS_IP; a REQUEST names a
// MAC or (HAS_IP and zero MAC) an IP; ANNOUNCE and WITHDRAW name a unicast
// MAC; PROXY and GRATUITOUS describe an answer, never a REQUEST.
function checkSemantics(opcode: number, vnet: number, mac: number, flags: number, ip: number): void {
  checkVnet(vnet, 'VARP');
  if (!(flags & VARP_FLAG_HAS_IP) && ip !== 0) throw new WireError('BAD_FLAGS', 'VARP ip: nonzero without HAS_IP');
  if (mac !== 0 && isGroupMac(mac)) throw new WireError('BAD_ADDRESS', 'VARP mac: a group address never names a VIF');
  if (opcode === VARP_REQUEST) {
    if (mac === 0 && !(flags & VARP_FLAG_HAS_IP)) throw new WireError('BAD_FLAGS', 'VARP REQUEST: zero MAC without HAS_IP');
    if (flags & (VARP_FLAG_PROXY | VARP_FLAG_GRATUITOUS)) throw new WireError('BAD_FLAGS', 'VARP REQUEST: PROXY/GRATUITOUS set');
  } else if (mac === 0) {
    throw new WireError('BAD_ADDRESS', 'VARP mac: zero in an ANNOUNCE or WITHDRAW');
  }
}

function authTag(key: Buffer, msg: Buffer): Buffer {
  if (key.length === 0) throw new WireError('BAD_AUTH', 'VARP key: empty');
  return createHmac('sha256', key).update(msg.subarray(0, VARP_LEN)).digest();
}
