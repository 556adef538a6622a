// DHCPv4 messages (RFC 2131 section 2); their options are options.ts.
// Pure: decodeDhcp throws only WireError, so a receive path counts a
// malformed message by its code and carries on.
import { WireError, need } from '../wire/errors.ts';
import { encodeOptions, Opt, readOptions, typedOptions, type DhcpOptions } from './options.ts';

export { DHCP_MIN_MTU, DhcpType, decodeClasslessRoutes, encodeClasslessRoutes, Opt, type ClasslessRoute, type DhcpOptions, type DhcpTypeValue } from './options.ts';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

/** RFC 2131 figure 1: op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file. */
const OP_OFFSET = 0;
const HTYPE_OFFSET = 1;
const HLEN_OFFSET = 2;
const HOPS_OFFSET = 3;
const XID_OFFSET = 4;
const SECS_OFFSET = 8;
const FLAGS_OFFSET = 10;
const CIADDR_OFFSET = 12;
const YIADDR_OFFSET = 16;
const SIADDR_OFFSET = 20;
const GIADDR_OFFSET = 24;
const CHADDR_OFFSET = 28;
const CHADDR_LEN = 16;
const COOKIE_OFFSET = 236;
export const DHCP_FIXED_LEN = 240; // the fixed part and the magic cookie
/** RFC 2131 section 2: the options field a client must accept is at least 312 bytes, so a message is at least 300 on the wire (BOOTP). */
const BOOTP_MIN_LEN = 300;
const MAGIC_COOKIE = 0x63825363; // RFC 2132 section 2: 99.130.83.99

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const HTYPE_ETHERNET = 1;
export const HLEN_ETHERNET = 6;
export const FLAG_BROADCAST = 0x8000;


export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** The client hardware address as a 48-bit number (htype 1, hlen 6). */
  chaddr: number;
  options: DhcpOptions;
}

export interface DecodedDhcp extends DhcpMessage {
  raw: Map<number, Buffer>;
}

/** Decodes a DHCP message (the UDP payload). Throws WireError on anything malformed. */
export function decodeDhcp(buf: Buffer): DecodedDhcp {
  need(buf, DHCP_FIXED_LEN, 'DHCP');
  const op = buf[OP_OFFSET]!;
  if (op !== BOOTREQUEST && op !== BOOTREPLY) throw new WireError('BAD_OPCODE', `DHCP op ${op}`);
  const htype = buf[HTYPE_OFFSET]!;
  const hlen = buf[HLEN_OFFSET]!;
  if (htype !== HTYPE_ETHERNET || hlen !== HLEN_ETHERNET) throw new WireError('BAD_HEADER', `DHCP hardware type ${htype}/${hlen}: only Ethernet`);
  if (buf.readUInt32BE(COOKIE_OFFSET) !== MAGIC_COOKIE) throw new WireError('BAD_HEADER', 'DHCP magic cookie');
  const raw = readOptions(buf, DHCP_FIXED_LEN);
  if (raw.has(Opt.OVERLOAD)) throw new WireError('BAD_HEADER', 'DHCP option overload (52) is not supported');
  return {
    op,
    htype,
    hlen,
    hops: buf[HOPS_OFFSET]!,
    xid: buf.readUInt32BE(XID_OFFSET),
    secs: buf.readUInt16BE(SECS_OFFSET),
    flags: buf.readUInt16BE(FLAGS_OFFSET),
    ciaddr: buf.readUInt32BE(CIADDR_OFFSET),
    yiaddr: buf.readUInt32BE(YIADDR_OFFSET),
    siaddr: buf.readUInt32BE(SIADDR_OFFSET),
    giaddr: buf.readUInt32BE(GIADDR_OFFSET),
    chaddr: buf.readUIntBE(CHADDR_OFFSET, HLEN_ETHERNET),
    options: typedOptions(raw),
    raw,
  };
}

/** Encodes a message; an option longer than 255 bytes is split (RFC 3396). Padded to the BOOTP minimum of 300 bytes. */
export function encodeDhcp(m: DhcpMessage): Buffer {
  const body = encodeOptions(m.options);
  const out = Buffer.alloc(Math.max(BOOTP_MIN_LEN, DHCP_FIXED_LEN + body.length));
  out[OP_OFFSET] = m.op;
  out[HTYPE_OFFSET] = HTYPE_ETHERNET;
  out[HLEN_OFFSET] = HLEN_ETHERNET;
  out[HOPS_OFFSET] = m.hops;
  out.writeUInt32BE(m.xid >>> 0, XID_OFFSET);
  out.writeUInt16BE(m.secs, SECS_OFFSET);
  out.writeUInt16BE(m.flags, FLAGS_OFFSET);
  out.writeUInt32BE(m.ciaddr >>> 0, CIADDR_OFFSET);
  out.writeUInt32BE(m.yiaddr >>> 0, YIADDR_OFFSET);
  out.writeUInt32BE(m.siaddr >>> 0, SIADDR_OFFSET);
  out.writeUInt32BE(m.giaddr >>> 0, GIADDR_OFFSET);
  out.fill(0, CHADDR_OFFSET, CHADDR_OFFSET + CHADDR_LEN);
  out.writeUIntBE(m.chaddr, CHADDR_OFFSET, HLEN_ETHERNET);
  out.writeUInt32BE(MAGIC_COOKIE, COOKIE_OFFSET);
  body.copy(out, DHCP_FIXED_LEN);
  return out;
}
