// ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses only: the
// only combination a vnet carries. Trailing bytes (Ethernet padding) are allowed.
import {
  ARP_HTYPE_ETHERNET,
  ARP_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ETHERTYPE_IPV4,
  IPV4_WIDTH,
  MAC_WIDTH,
} from './constants.ts';
import { isValidIp, isValidMac } from './addr.ts';
import { WireError, need } from './errors.ts';

const HTYPE_OFFSET = 0;
const PTYPE_OFFSET = 2;
const HLEN_OFFSET = 4;
const PLEN_OFFSET = 5;
const OP_OFFSET = 6;
const SHA_OFFSET = 8;
const SPA_OFFSET = 14;
const THA_OFFSET = 18;
const TPA_OFFSET = 24;

export interface ArpPacket {
  op: number; // ARP_OP_REQUEST | ARP_OP_REPLY
  sha: number;
  spa: number;
  tha: number;
  tpa: number;
}

export function decodeArp(buf: Buffer): ArpPacket {
  need(buf, ARP_LEN, 'ARP');
  if (buf.readUInt16BE(HTYPE_OFFSET) !== ARP_HTYPE_ETHERNET) throw new WireError('BAD_HEADER', 'ARP htype: not Ethernet');
  if (buf.readUInt16BE(PTYPE_OFFSET) !== ETHERTYPE_IPV4) throw new WireError('BAD_HEADER', 'ARP ptype: not IPv4');
  if (buf[HLEN_OFFSET] !== MAC_WIDTH) throw new WireError('BAD_HEADER', 'ARP hlen: must be 6');
  if (buf[PLEN_OFFSET] !== IPV4_WIDTH) throw new WireError('BAD_HEADER', 'ARP plen: must be 4');
  const op = buf.readUInt16BE(OP_OFFSET);
  if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) throw new WireError('BAD_OPCODE', `ARP op: ${op} is not 1 or 2`);
  return {
    op,
    sha: buf.readUIntBE(SHA_OFFSET, MAC_WIDTH),
    spa: buf.readUInt32BE(SPA_OFFSET),
    tha: buf.readUIntBE(THA_OFFSET, MAC_WIDTH),
    tpa: buf.readUInt32BE(TPA_OFFSET),
  };
}

export function encodeArp(p: ArpPacket): Buffer {
  if (p.op !== ARP_OP_REQUEST && p.op !== ARP_OP_REPLY) throw new WireError('BAD_OPCODE', `ARP op: ${p.op} is not 1 or 2`);
  if (!isValidMac(p.sha)) throw new WireError('BAD_ADDRESS', 'ARP sha: not a 48-bit MAC');
  if (!isValidMac(p.tha)) throw new WireError('BAD_ADDRESS', 'ARP tha: not a 48-bit MAC');
  if (!isValidIp(p.spa)) throw new WireError('BAD_ADDRESS', 'ARP spa: not an IPv4 address');
  if (!isValidIp(p.tpa)) throw new WireError('BAD_ADDRESS', 'ARP tpa: not an IPv4 address');
  const out = Buffer.allocUnsafe(ARP_LEN);
  out.writeUInt16BE(ARP_HTYPE_ETHERNET, HTYPE_OFFSET);
  out.writeUInt16BE(ETHERTYPE_IPV4, PTYPE_OFFSET);
  out[HLEN_OFFSET] = MAC_WIDTH;
  out[PLEN_OFFSET] = IPV4_WIDTH;
  out.writeUInt16BE(p.op, OP_OFFSET);
  out.writeUIntBE(p.sha, SHA_OFFSET, MAC_WIDTH);
  out.writeUInt32BE(p.spa, SPA_OFFSET);
  out.writeUIntBE(p.tha, THA_OFFSET, MAC_WIDTH);
  out.writeUInt32BE(p.tpa, TPA_OFFSET);
  return out;
}
