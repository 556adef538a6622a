// RIP version 2 messages (RFC 2453 section 4): a 4-byte header and up to 25
// route entries of 20 bytes, carried in UDP port 520. Pure codec: length
// checked before every read, WireError with a code on anything malformed.
import { WireError, isValidIp, need } from '../wire/index.ts';

/** RFC 2453 3.6 / 4: the RIP port, the RIPv2 group and its MAC (RFC 1112 mapping). */
export const RIP_PORT = 520;
export const RIP_GROUP = 0xe0000009; // 224.0.0.9
export const RIP_VERSION = 2;
export const RIP_CMD_REQUEST = 1;
export const RIP_CMD_RESPONSE = 2;
export const RIP_HEADER_LEN = 4;
export const RIP_RTE_LEN = 20;
/** RFC 2453 3.6: at most 25 entries per message (512-byte payload). */
export const RIP_MAX_RTES = 25;
/** RFC 2453 3.6: address family identifier for IP. */
export const RIP_AFI_INET = 2;
/** RFC 2453 4.1: an authentication entry uses AFI 0xFFFF. */
export const RIP_AFI_AUTH = 0xffff;
/** RFC 2453 3.9.1: a whole-table request has one entry with AFI 0 and metric 16. */
export const RIP_AFI_UNSPEC = 0;
/** RFC 2453 3.6: metric 16 is infinity (unreachable). */
export const RIP_INFINITY = 16;

const CMD_OFFSET = 0;
const VERSION_OFFSET = 1;
const RTE_AFI = 0;
const RTE_TAG = 2;
const RTE_ADDRESS = 4;
const RTE_MASK = 8;
const RTE_NEXT_HOP = 12;
const RTE_METRIC = 16;

export interface RipEntry {
  afi: number;
  tag: number;
  address: number;
  mask: number;
  nextHop: number;
  metric: number;
}

export interface RipPacket {
  command: number;
  version: number;
  entries: RipEntry[];
}

export function decodeRip(buf: Buffer): RipPacket {
  need(buf, RIP_HEADER_LEN, 'RIP');
  const command = buf[CMD_OFFSET]!;
  const version = buf[VERSION_OFFSET]!;
  if (command !== RIP_CMD_REQUEST && command !== RIP_CMD_RESPONSE) throw new WireError('BAD_OPCODE', `RIP command ${command} is not 1 or 2`);
  // RFC 2453 4: version 0 is discarded; higher versions are read as far as they match.
  if (version === 0) throw new WireError('BAD_VERSION', 'RIP version 0');
  const body = buf.length - RIP_HEADER_LEN;
  if (body % RIP_RTE_LEN !== 0) throw new WireError('BAD_LENGTH', `RIP length ${buf.length}: not 4 + a multiple of 20`);
  const n = body / RIP_RTE_LEN;
  if (n > RIP_MAX_RTES) throw new WireError('BAD_LENGTH', `RIP message with ${n} entries, at most ${RIP_MAX_RTES}`);
  const entries: RipEntry[] = [];
  for (let i = 0; i < n; i++) {
    const o = RIP_HEADER_LEN + i * RIP_RTE_LEN;
    entries.push({
      afi: buf.readUInt16BE(o + RTE_AFI),
      tag: buf.readUInt16BE(o + RTE_TAG),
      address: buf.readUInt32BE(o + RTE_ADDRESS),
      mask: buf.readUInt32BE(o + RTE_MASK),
      nextHop: buf.readUInt32BE(o + RTE_NEXT_HOP),
      metric: buf.readUInt32BE(o + RTE_METRIC),
    });
  }
  return { command, version, entries };
}

export function encodeRip(p: RipPacket): Buffer {
  if (p.command !== RIP_CMD_REQUEST && p.command !== RIP_CMD_RESPONSE) throw new WireError('BAD_OPCODE', `RIP command ${p.command} is not 1 or 2`);
  if (p.entries.length > RIP_MAX_RTES) throw new WireError('BAD_LENGTH', `RIP message with ${p.entries.length} entries, at most ${RIP_MAX_RTES}`);
  const out = Buffer.alloc(RIP_HEADER_LEN + p.entries.length * RIP_RTE_LEN); // zero: the must-be-zero field
  out[CMD_OFFSET] = p.command;
  out[VERSION_OFFSET] = p.version;
  p.entries.forEach((e, i) => {
    const o = RIP_HEADER_LEN + i * RIP_RTE_LEN;
    for (const [v, name] of [[e.afi, 'afi'], [e.tag, 'tag']] as const) {
      if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new WireError('BAD_HEADER', `RIP entry ${i} ${name}: must be 0..65535`);
    }
    for (const [v, name] of [[e.address, 'address'], [e.mask, 'mask'], [e.nextHop, 'nextHop'], [e.metric, 'metric']] as const) {
      if (!isValidIp(v)) throw new WireError('BAD_HEADER', `RIP entry ${i} ${name}: must be a u32`);
    }
    out.writeUInt16BE(e.afi, o + RTE_AFI);
    out.writeUInt16BE(e.tag, o + RTE_TAG);
    out.writeUInt32BE(e.address, o + RTE_ADDRESS);
    out.writeUInt32BE(e.mask, o + RTE_MASK);
    out.writeUInt32BE(e.nextHop, o + RTE_NEXT_HOP);
    out.writeUInt32BE(e.metric, o + RTE_METRIC);
  });
  return out;
}

/** The prefix length of a contiguous mask, or -1 when the mask has holes. */
export function maskLength(mask: number): number {
  const inv = ~mask >>> 0;
  // Contiguous: the inverted mask is 2^k - 1.
  if ((inv & (inv + 1)) !== 0) return -1;
  return 32 - Math.log2(inv + 1);
}
