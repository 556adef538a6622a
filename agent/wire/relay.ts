// RELAY (kind 3): a vnetd forwards a multicast VARP message or broadcast
// FRAME to its peer vnetds (spec "RELAY"). The inner message is carried byte
// for byte; only VARP and FRAME may be inside (a relay is never relayed).
import {
  COMMON_HEADER_LEN,
  KIND_FRAME,
  KIND_RELAY,
  KIND_VARP,
  RELAY_HEADER_LEN,
  RELAY_HOPS_OFFSET,
  RELAY_MAX_HOPS,
  RELAY_ORIGIN_OFFSET,
  RELAY_RESERVED_OFFSET,
} from './constants.ts';
import { isValidIp } from './addr.ts';
import { WireError, need } from './errors.ts';

export interface RelayMessage {
  /** Hops left; a new RELAY starts at RELAY_INITIAL_HOPS, 0 is never forwarded. */
  hops: number;
  /** COA of the host that first sent the inner message. */
  origin: number;
  inner: Buffer;
}

export function encodeRelay(r: RelayMessage): Buffer {
  if (!(Number.isInteger(r.hops) && r.hops >= 1 && r.hops <= RELAY_MAX_HOPS)) {
    throw new WireError('BAD_HOPS', `RELAY hops: ${r.hops} not in 1..255 (0 is never forwarded)`);
  }
  if (!isValidIp(r.origin)) throw new WireError('BAD_ADDRESS', 'RELAY origin: not an IPv4 address');
  checkInner(r.inner);
  const out = Buffer.allocUnsafe(RELAY_HEADER_LEN + r.inner.length);
  out.writeUInt16BE(KIND_RELAY, 0);
  out[RELAY_HOPS_OFFSET] = r.hops;
  out[RELAY_RESERVED_OFFSET] = 0;
  out.writeUInt32BE(r.origin, RELAY_ORIGIN_OFFSET);
  r.inner.copy(out, RELAY_HEADER_LEN);
  return out;
}

export function decodeRelay(buf: Buffer): RelayMessage {
  need(buf, RELAY_HEADER_LEN + COMMON_HEADER_LEN, 'RELAY');
  const kind = buf.readUInt16BE(0);
  if (kind !== KIND_RELAY) throw new WireError('BAD_KIND', `RELAY kind: ${kind}`);
  if (buf[RELAY_RESERVED_OFFSET] !== 0) throw new WireError('RESERVED_NONZERO', 'RELAY reserved byte');
  const inner = buf.subarray(RELAY_HEADER_LEN);
  checkInner(inner);
  return { hops: buf[RELAY_HOPS_OFFSET]!, origin: buf.readUInt32BE(RELAY_ORIGIN_OFFSET), inner };
}

function checkInner(inner: Buffer): void {
  need(inner, COMMON_HEADER_LEN, 'RELAY inner message');
  const kind = inner.readUInt16BE(0);
  if (kind !== KIND_VARP && kind !== KIND_FRAME) {
    throw new WireError('BAD_KIND', `RELAY inner kind: ${kind} (only VARP or FRAME)`);
  }
}
