// DNS messages (RFC 1035 section 4): the header, questions and the A and PTR
// records a farm resolver answers with. Pure: decodeDns throws only WireError.
// Without EDNS a UDP answer is at most 512 bytes (RFC 1035 section 4.2.1):
// encodeDns drops answers that do not fit and sets TC.
import { WireError, need } from '../wire/errors.ts';

export const DNS_PORT = 53;
export const DNS_HEADER_LEN = 12;
export const DNS_UDP_MAX = 512;
const MAX_NAME_LEN = 255; // RFC 1035 section 2.3.4
const MAX_LABEL_LEN = 63;
const MAX_POINTERS = 32; // a name needs far fewer; more is a loop

const ID_OFFSET = 0;
const FLAGS_OFFSET = 2;
const QDCOUNT_OFFSET = 4;
const ANCOUNT_OFFSET = 6;
const NSCOUNT_OFFSET = 8;
const ARCOUNT_OFFSET = 10;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const OPCODE_SHIFT = 11;
const OPCODE_MASK = 0xf;
const RCODE_MASK = 0xf;

export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const QType = { A: 1, PTR: 12, AAAA: 28, ANY: 255 } as const;
export const CLASS_IN = 1;

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** A: the address; PTR: the name; other types: their raw data. */
  data: number | string | Buffer;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  /** Counts of the authority and additional sections (not decoded: an EDNS OPT record lives there). */
  authorityCount: number;
  additionalCount: number;
}

/** Reads a possibly compressed name at `at`; returns it (lower case, no trailing dot) and where the name ends in place. */
function readName(buf: Buffer, at: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = at;
  let end = -1;
  let jumps = 0;
  let total = 0;
  for (;;) {
    need(buf, i + 1, 'DNS name');
    const len = buf[i]!;
    if ((len & 0xc0) === 0xc0) {
      need(buf, i + 2, 'DNS name pointer');
      if (++jumps > MAX_POINTERS) throw new WireError('BAD_HEADER', 'DNS name: compression loop');
      if (end < 0) end = i + 2;
      i = buf.readUInt16BE(i) & 0x3fff;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new WireError('BAD_HEADER', `DNS label type ${len >> 6}`);
    if (len === 0) {
      if (end < 0) end = i + 1;
      break;
    }
    need(buf, i + 1 + len, 'DNS label');
    total += len + 1;
    if (total > MAX_NAME_LEN) throw new WireError('BAD_LENGTH', 'DNS name longer than 255 bytes');
    labels.push(buf.toString('latin1', i + 1, i + 1 + len).toLowerCase());
    i += 1 + len;
  }
  return { name: labels.join('.'), end };
}

function nameBytes(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1');
    if (b.length === 0 || b.length > MAX_LABEL_LEN) throw new WireError('BAD_LENGTH', `DNS label "${l}": 1..63 bytes`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > MAX_NAME_LEN) throw new WireError('BAD_LENGTH', 'DNS name longer than 255 bytes');
  return out;
}

export function decodeDns(buf: Buffer): DnsMessage {
  need(buf, DNS_HEADER_LEN, 'DNS');
  const flags = buf.readUInt16BE(FLAGS_OFFSET);
  const qd = buf.readUInt16BE(QDCOUNT_OFFSET);
  const an = buf.readUInt16BE(ANCOUNT_OFFSET);
  let at = DNS_HEADER_LEN;
  const questions: DnsQuestion[] = [];
  for (let q = 0; q < qd; q++) {
    const { name, end } = readName(buf, at);
    need(buf, end + 4, 'DNS question');
    questions.push({ name, type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2) });
    at = end + 4;
  }
  const answers: DnsRecord[] = [];
  for (let a = 0; a < an; a++) {
    const { name, end } = readName(buf, at);
    need(buf, end + 10, 'DNS record');
    const type = buf.readUInt16BE(end);
    const rdlen = buf.readUInt16BE(end + 8);
    const rdata = end + 10;
    need(buf, rdata + rdlen, 'DNS record data');
    let data: number | string | Buffer;
    if (type === QType.A) {
      if (rdlen !== 4) throw new WireError('BAD_LENGTH', `DNS A record: ${rdlen} bytes`);
      data = buf.readUInt32BE(rdata);
    } else if (type === QType.PTR) {
      const n = readName(buf, rdata);
      if (n.end !== rdata + rdlen) throw new WireError('BAD_LENGTH', 'DNS PTR record: length disagrees with the name');
      data = n.name;
    } else {
      data = Buffer.from(buf.subarray(rdata, rdata + rdlen));
    }
    answers.push({ name, type, class: buf.readUInt16BE(end + 2), ttl: buf.readUInt32BE(end + 4), data });
    at = rdata + rdlen;
  }
  return {
    id: buf.readUInt16BE(ID_OFFSET),
    response: (flags & FLAG_QR) !== 0,
    opcode: (flags >> OPCODE_SHIFT) & OPCODE_MASK,
    authoritative: (flags & FLAG_AA) !== 0,
    truncated: (flags & FLAG_TC) !== 0,
    recursionDesired: (flags & FLAG_RD) !== 0,
    recursionAvailable: (flags & FLAG_RA) !== 0,
    rcode: flags & RCODE_MASK,
    questions,
    answers,
    authorityCount: buf.readUInt16BE(NSCOUNT_OFFSET),
    additionalCount: buf.readUInt16BE(ARCOUNT_OFFSET),
  };
}

function recordBytes(r: DnsRecord): Buffer {
  let rdata: Buffer;
  if (r.type === QType.A && typeof r.data === 'number') {
    rdata = Buffer.alloc(4);
    rdata.writeUInt32BE(r.data >>> 0);
  } else if (r.type === QType.PTR && typeof r.data === 'string') {
    rdata = nameBytes(r.data);
  } else if (Buffer.isBuffer(r.data)) {
    rdata = r.data;
  } else {
    throw new WireError('BAD_HEADER', `DNS record type ${r.type}: data of the wrong kind`);
  }
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.class, 2);
  fixed.writeUInt32BE(r.ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([nameBytes(r.name), fixed, rdata]);
}

/**
 * Encodes a message (authority and additional sections are written empty).
 * Answers that would take it past `limit` (512 by default) are left out and
 * TC is set, as RFC 1035 section 4.2.1 requires of UDP without EDNS.
 */
export function encodeDns(m: DnsMessage, limit = DNS_UDP_MAX): Buffer {
  const qs = m.questions.map((q) => {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(q.type, 0);
    b.writeUInt16BE(q.class, 2);
    return Buffer.concat([nameBytes(q.name), b]);
  });
  let size = DNS_HEADER_LEN + qs.reduce((n, b) => n + b.length, 0);
  if (size > limit) throw new WireError('BAD_LENGTH', `DNS questions take ${size} bytes > ${limit}`);
  const ans: Buffer[] = [];
  let truncated = m.truncated;
  for (const r of m.answers) {
    const b = recordBytes(r);
    if (size + b.length > limit) {
      truncated = true;
      break;
    }
    ans.push(b);
    size += b.length;
  }
  const header = Buffer.alloc(DNS_HEADER_LEN);
  header.writeUInt16BE(m.id, ID_OFFSET);
  const flags =
    (m.response ? FLAG_QR : 0) |
    ((m.opcode & OPCODE_MASK) << OPCODE_SHIFT) |
    (m.authoritative ? FLAG_AA : 0) |
    (truncated ? FLAG_TC : 0) |
    (m.recursionDesired ? FLAG_RD : 0) |
    (m.recursionAvailable ? FLAG_RA : 0) |
    (m.rcode & RCODE_MASK);
  header.writeUInt16BE(flags, FLAGS_OFFSET);
  header.writeUInt16BE(qs.length, QDCOUNT_OFFSET);
  header.writeUInt16BE(ans.length, ANCOUNT_OFFSET);
  return Buffer.concat([header, ...qs, ...ans]);
}

/** `10.7.0.5` → `5.0.7.10.in-addr.arpa` (RFC 1035 section 3.5). */
export function reverseName(ip: number): string {
  return `${ip & 0xff}.${(ip >>> 8) & 0xff}.${(ip >>> 16) & 0xff}.${ip >>> 24}.in-addr.arpa`;
}

/** The address a reverse name stands for, or null when it is not a full IPv4 in-addr.arpa name. */
export function parseReverseName(name: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!m) return null;
  const o = [m[4], m[3], m[2], m[1]].map(Number);
  if (o.some((x) => x > 255)) return null;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}
