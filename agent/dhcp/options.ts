// DHCPv4 options (RFC 2132, classless static routes RFC 3442): the typed
// view of the options this agent reads and sends, read with RFC 3396
// concatenation and written split at 255 bytes. Pure: only WireError is thrown.
import { WireError } from '../wire/errors.ts';

/** RFC 2132 section 9.6, option 53. */
export const DhcpType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
export type DhcpTypeValue = (typeof DhcpType)[keyof typeof DhcpType];

/** Option codes (RFC 2132, RFC 3442). */
export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOST_NAME: 12,
  DOMAIN_NAME: 15,
  MTU: 26,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMS: 55,
  MESSAGE: 56,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  CLASSLESS_ROUTES: 121,
  END: 255,
} as const;

/** RFC 2132 section 5.1: the smallest MTU option value. */
export const DHCP_MIN_MTU = 68;

export interface ClasslessRoute {
  destination: number;
  prefixLen: number;
  gateway: number;
}

/** The options a server sends and this agent reads; `raw` holds every option as received (the last of a repeated code wins). */
export interface DhcpOptions {
  messageType?: number;
  subnetMask?: number;
  routers?: number[];
  dnsServers?: number[];
  hostName?: string;
  domainName?: string;
  mtu?: number;
  requestedIp?: number;
  leaseTime?: number;
  renewalTime?: number;
  rebindingTime?: number;
  serverId?: number;
  params?: number[];
  message?: string;
  classlessRoutes?: ClasslessRoute[];
}

const ADDR_LIST_CODES = new Set<number>([Opt.ROUTER, Opt.DNS]);

/** Code → data; RFC 3396 concatenation of a repeated code is honoured. */
export function readOptions(buf: Buffer, from: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = from;
  while (i < buf.length) {
    const code = buf[i]!;
    if (code === Opt.PAD) {
      i++;
      continue;
    }
    if (code === Opt.END) return out;
    if (i + 2 > buf.length) throw new WireError('TRUNCATED', `DHCP option ${code}: no length`);
    const len = buf[i + 1]!;
    if (i + 2 + len > buf.length) throw new WireError('TRUNCATED', `DHCP option ${code}: ${len} bytes, ${buf.length - i - 2} left`);
    const data = buf.subarray(i + 2, i + 2 + len);
    const prev = out.get(code);
    out.set(code, prev ? Buffer.concat([prev, data]) : data);
    i += 2 + len;
  }
  throw new WireError('TRUNCATED', 'DHCP options: no end option');
}

function u32Of(code: number, d: Buffer): number {
  if (d.length !== 4) throw new WireError('BAD_LENGTH', `DHCP option ${code}: ${d.length} bytes, need 4`);
  return d.readUInt32BE(0);
}

function addrsOf(code: number, d: Buffer): number[] {
  if (d.length === 0 || d.length % 4 !== 0) throw new WireError('BAD_LENGTH', `DHCP option ${code}: ${d.length} bytes, need a multiple of 4`);
  const out: number[] = [];
  for (let i = 0; i < d.length; i += 4) out.push(d.readUInt32BE(i));
  return out;
}

function textOf(code: number, d: Buffer): string {
  if (d.length === 0) throw new WireError('BAD_LENGTH', `DHCP option ${code}: empty`);
  return d.toString('latin1').replace(/\0+$/, '');
}

export function typedOptions(raw: Map<number, Buffer>): DhcpOptions {
  const o: DhcpOptions = {};
  for (const [code, d] of raw) {
    if (ADDR_LIST_CODES.has(code)) {
      if (code === Opt.ROUTER) o.routers = addrsOf(code, d);
      else o.dnsServers = addrsOf(code, d);
      continue;
    }
    switch (code) {
      case Opt.MESSAGE_TYPE:
        if (d.length !== 1) throw new WireError('BAD_LENGTH', 'DHCP option 53: need 1 byte');
        if (d[0]! < DhcpType.DISCOVER || d[0]! > DhcpType.INFORM) throw new WireError('BAD_KIND', `DHCP message type ${d[0]}`);
        o.messageType = d[0]!;
        break;
      case Opt.SUBNET_MASK: o.subnetMask = u32Of(code, d); break;
      case Opt.REQUESTED_IP: o.requestedIp = u32Of(code, d); break;
      case Opt.LEASE_TIME: o.leaseTime = u32Of(code, d); break;
      case Opt.RENEWAL_TIME: o.renewalTime = u32Of(code, d); break;
      case Opt.REBINDING_TIME: o.rebindingTime = u32Of(code, d); break;
      case Opt.SERVER_ID: o.serverId = u32Of(code, d); break;
      case Opt.HOST_NAME: o.hostName = textOf(code, d); break;
      case Opt.DOMAIN_NAME: o.domainName = textOf(code, d); break;
      case Opt.MESSAGE: o.message = d.toString('latin1'); break;
      case Opt.PARAMS: o.params = [...d]; break;
      case Opt.MTU:
        if (d.length !== 2) throw new WireError('BAD_LENGTH', 'DHCP option 26: need 2 bytes');
        if (d.readUInt16BE(0) < DHCP_MIN_MTU) throw new WireError('BAD_HEADER', `DHCP MTU ${d.readUInt16BE(0)} < ${DHCP_MIN_MTU}`);
        o.mtu = d.readUInt16BE(0);
        break;
      case Opt.CLASSLESS_ROUTES: o.classlessRoutes = decodeClasslessRoutes(d); break;
      default: break; // kept in raw only
    }
  }
  return o;
}

/** RFC 3442 section 3: width, the significant octets of the destination, the router. */
export function decodeClasslessRoutes(d: Buffer): ClasslessRoute[] {
  const out: ClasslessRoute[] = [];
  let i = 0;
  while (i < d.length) {
    const prefixLen = d[i]!;
    if (prefixLen > 32) throw new WireError('BAD_HEADER', `DHCP option 121: prefix length ${prefixLen}`);
    const octets = Math.ceil(prefixLen / 8);
    if (i + 1 + octets + 4 > d.length) throw new WireError('TRUNCATED', 'DHCP option 121: route cut short');
    let destination = 0;
    for (let k = 0; k < 4; k++) destination = destination * 256 + (k < octets ? d[i + 1 + k]! : 0);
    out.push({ destination, prefixLen, gateway: d.readUInt32BE(i + 1 + octets) });
    i += 1 + octets + 4;
  }
  if (out.length === 0) throw new WireError('BAD_LENGTH', 'DHCP option 121: empty');
  return out;
}

export function encodeClasslessRoutes(routes: readonly ClasslessRoute[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of routes) {
    if (!(Number.isInteger(r.prefixLen) && r.prefixLen >= 0 && r.prefixLen <= 32)) throw new WireError('BAD_HEADER', 'route prefix length');
    const octets = Math.ceil(r.prefixLen / 8);
    const b = Buffer.alloc(1 + octets + 4);
    b[0] = r.prefixLen;
    const dest = Buffer.alloc(4);
    dest.writeUInt32BE(r.destination >>> 0);
    dest.copy(b, 1, 0, octets);
    b.writeUInt32BE(r.gateway >>> 0, 1 + octets);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

const u32Buf = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const addrsBuf = (list: readonly number[]) => Buffer.concat(list.map(u32Buf));

/** The options in the order they are written (message type first, RFC 2131 section 4.1 does not require it but clients expect it). */
function optionList(o: DhcpOptions): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  if (o.messageType !== undefined) out.push([Opt.MESSAGE_TYPE, Buffer.from([o.messageType])]);
  if (o.serverId !== undefined) out.push([Opt.SERVER_ID, u32Buf(o.serverId)]);
  if (o.leaseTime !== undefined) out.push([Opt.LEASE_TIME, u32Buf(o.leaseTime)]);
  if (o.renewalTime !== undefined) out.push([Opt.RENEWAL_TIME, u32Buf(o.renewalTime)]);
  if (o.rebindingTime !== undefined) out.push([Opt.REBINDING_TIME, u32Buf(o.rebindingTime)]);
  if (o.subnetMask !== undefined) out.push([Opt.SUBNET_MASK, u32Buf(o.subnetMask)]);
  if (o.classlessRoutes?.length) out.push([Opt.CLASSLESS_ROUTES, encodeClasslessRoutes(o.classlessRoutes)]);
  if (o.routers?.length) out.push([Opt.ROUTER, addrsBuf(o.routers)]);
  if (o.dnsServers?.length) out.push([Opt.DNS, addrsBuf(o.dnsServers)]);
  if (o.hostName) out.push([Opt.HOST_NAME, Buffer.from(o.hostName, 'latin1')]);
  if (o.domainName) out.push([Opt.DOMAIN_NAME, Buffer.from(o.domainName, 'latin1')]);
  if (o.mtu !== undefined) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(o.mtu);
    out.push([Opt.MTU, b]);
  }
  if (o.requestedIp !== undefined) out.push([Opt.REQUESTED_IP, u32Buf(o.requestedIp)]);
  if (o.params?.length) out.push([Opt.PARAMS, Buffer.from(o.params)]);
  if (o.message) out.push([Opt.MESSAGE, Buffer.from(o.message, 'latin1')]);
  return out;
}

/** The options field: every option (split at 255 bytes, RFC 3396), then END. */
export function encodeOptions(o: DhcpOptions): Buffer {
  const opts: Buffer[] = [];
  for (const [code, data] of optionList(o)) {
    for (let i = 0; i < data.length || i === 0; i += 255) {
      const part = data.subarray(i, i + 255);
      opts.push(Buffer.from([code, part.length]), part);
      if (data.length === 0) break;
    }
  }
  opts.push(Buffer.from([Opt.END]));
  return Buffer.concat(opts);
}
