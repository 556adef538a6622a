// ICMP (RFC 792): the messages a guest stack and a virtual router need —
// echo request/reply, destination unreachable, time exceeded.
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  ICMP_TIME_EXCEEDED,
} from './constants.ts';
import { internetChecksum } from './checksum.ts';
import { WireError, need } from './errors.ts';

const TYPE_OFFSET = 0;
const CODE_OFFSET = 1;
const CHECKSUM_OFFSET = 2;
const ID_OFFSET = 4; // echo: identifier
const SEQ_OFFSET = 6; // echo: sequence number
const MTU_OFFSET = 6; // unreachable / fragmentation needed: next-hop MTU (RFC 1191)

export interface IcmpEcho {
  type: typeof ICMP_ECHO_REQUEST | typeof ICMP_ECHO_REPLY;
  code: number;
  id: number;
  seq: number;
  payload: Buffer;
}
export interface IcmpUnreachable {
  type: typeof ICMP_DEST_UNREACHABLE;
  code: number;
  nextHopMtu: number;
  /** The offending datagram's IP header and at least its first 8 payload bytes. */
  payload: Buffer;
}
export interface IcmpTimeExceeded {
  type: typeof ICMP_TIME_EXCEEDED;
  code: number;
  payload: Buffer;
}
export type IcmpMessage = IcmpEcho | IcmpUnreachable | IcmpTimeExceeded;

export function decodeIcmp(buf: Buffer): IcmpMessage {
  need(buf, ICMP_HEADER_LEN, 'ICMP');
  if (internetChecksum(buf) !== 0) throw new WireError('BAD_CHECKSUM', 'ICMP checksum');
  const type = buf[TYPE_OFFSET]!;
  const code = buf[CODE_OFFSET]!;
  const payload = buf.subarray(ICMP_HEADER_LEN);
  switch (type) {
    case ICMP_ECHO_REQUEST:
    case ICMP_ECHO_REPLY:
      return { type, code, id: buf.readUInt16BE(ID_OFFSET), seq: buf.readUInt16BE(SEQ_OFFSET), payload };
    case ICMP_DEST_UNREACHABLE:
      return { type, code, nextHopMtu: buf.readUInt16BE(MTU_OFFSET), payload };
    case ICMP_TIME_EXCEEDED:
      return { type, code, payload };
    default:
      throw new WireError('BAD_KIND', `ICMP type ${type} not supported`);
  }
}

export function encodeIcmp(m: IcmpMessage): Buffer {
  const out = Buffer.allocUnsafe(ICMP_HEADER_LEN + m.payload.length);
  if (!(Number.isInteger(m.code) && m.code >= 0 && m.code <= 0xff)) throw new WireError('BAD_HEADER', 'ICMP code: must be 0..255');
  out[TYPE_OFFSET] = m.type;
  out[CODE_OFFSET] = m.code;
  out.writeUInt16BE(0, CHECKSUM_OFFSET);
  switch (m.type) {
    case ICMP_ECHO_REQUEST:
    case ICMP_ECHO_REPLY:
      out.writeUInt16BE(u16(m.id, 'id'), ID_OFFSET);
      out.writeUInt16BE(u16(m.seq, 'seq'), SEQ_OFFSET);
      break;
    case ICMP_DEST_UNREACHABLE:
      out.writeUInt16BE(0, ID_OFFSET);
      out.writeUInt16BE(u16(m.nextHopMtu, 'nextHopMtu'), MTU_OFFSET);
      break;
    case ICMP_TIME_EXCEEDED:
      out.writeUInt32BE(0, ID_OFFSET);
      break;
    default:
      throw new WireError('BAD_KIND', `ICMP type ${(m as { type: number }).type} not supported`);
  }
  m.payload.copy(out, ICMP_HEADER_LEN);
  out.writeUInt16BE(internetChecksum(out), CHECKSUM_OFFSET);
  return out;
}

function u16(v: number, name: string): number {
  if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new WireError('BAD_HEADER', `ICMP ${name}: must be 0..65535`);
  return v;
}
