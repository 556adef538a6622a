// The DHCP server of one VIF (RFC 2131 section 4.3), answered on the host
// where the VIF lives, from the desired state alone: the only address it ever
// offers is the VIF's own, to the VIF's own MAC. No pool, no lease database;
// the lease table here is only what the agent reports.
import {
  BOOTREPLY, BOOTREQUEST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DhcpType, encodeDhcp, FLAG_BROADCAST, type ClasslessRoute, type DecodedDhcp, type DhcpOptions,
} from './codec.ts';
import { udpFrame } from './frames.ts';
import { BROADCAST_MAC } from '../wire/addr.ts';

/** What the server answers for one VIF: its vnet's settings and the VIF's binding. */
export interface DhcpScope {
  mac: number;
  ip: number;
  prefixLen: number;
  mask: number;
  serverIp: number;
  serverMac: number;
  gateway?: number;
  dnsServers: number[];
  domain?: string;
  hostName?: string;
  mtu: number;
  leaseTime: number;
  routes: ClasslessRoute[];
}

/** Why a request got no answer (counted as softudc_dhcp_dropped_total{reason}). */
export type DhcpIgnore = 'not_request' | 'chaddr' | 'no_type' | 'server_message' | 'other_server' | 'released' | 'declined';

export interface DhcpOutcome {
  /** The answer frame for the guest, or null. */
  frame: Buffer | null;
  /** What was answered (OFFER, ACK, NAK) or why not. */
  result: 'offer' | 'ack' | 'nak' | 'inform' | DhcpIgnore;
}

/** RFC 2131 section 4.4.5: T1 at half the lease, T2 at 7/8. */
const T1 = 0.5;
const T2 = 0.875;

function replyOptions(s: DhcpScope, type: number, lease: boolean): DhcpOptions {
  const o: DhcpOptions = { messageType: type, serverId: s.serverIp, subnetMask: s.mask, mtu: s.mtu };
  if (lease) {
    o.leaseTime = s.leaseTime;
    o.renewalTime = Math.floor(s.leaseTime * T1);
    o.rebindingTime = Math.floor(s.leaseTime * T2);
  }
  if (s.gateway !== undefined) o.routers = [s.gateway];
  // RFC 3442 section 2: a client that takes option 121 ignores option 3, so the default route goes in it too.
  if (s.routes.length > 0) o.classlessRoutes = s.gateway !== undefined ? [...s.routes, { destination: 0, prefixLen: 0, gateway: s.gateway }] : s.routes;
  if (s.dnsServers.length > 0) o.dnsServers = s.dnsServers;
  if (s.domain) o.domainName = s.domain;
  if (s.hostName) o.hostName = s.hostName;
  return o;
}

function answer(s: DhcpScope, req: DecodedDhcp, type: number, yiaddr: number, options: DhcpOptions): Buffer {
  const payload = encodeDhcp({
    op: BOOTREPLY, htype: 1, hlen: 6, hops: 0, xid: req.xid, secs: 0, flags: req.flags,
    ciaddr: type === DhcpType.NAK ? 0 : req.ciaddr, yiaddr, siaddr: 0, giaddr: req.giaddr, chaddr: req.chaddr, options,
  });
  // RFC 2131 section 4.1: to ciaddr when the client has one, broadcast for a NAK or when asked, else to yiaddr at chaddr.
  let dst: number;
  let dstMac = req.chaddr;
  if (type === DhcpType.NAK || (req.ciaddr === 0 && req.flags & FLAG_BROADCAST)) {
    dst = 0xffffffff;
    dstMac = BROADCAST_MAC;
  } else {
    dst = req.ciaddr !== 0 ? req.ciaddr : yiaddr;
  }
  return udpFrame({ srcMac: s.serverMac, dstMac, src: s.serverIp, dst, srcPort: DHCP_SERVER_PORT, dstPort: DHCP_CLIENT_PORT, payload });
}

/** The server's answer to one decoded request from the VIF's guest. */
export function serveDhcp(s: DhcpScope, req: DecodedDhcp): DhcpOutcome {
  if (req.op !== BOOTREQUEST) return { frame: null, result: 'not_request' };
  if (req.chaddr !== s.mac) return { frame: null, result: 'chaddr' };
  const type = req.options.messageType;
  if (type === undefined) return { frame: null, result: 'no_type' }; // plain BOOTP is not served
  switch (type) {
    case DhcpType.DISCOVER:
      return { frame: answer(s, req, DhcpType.OFFER, s.ip, replyOptions(s, DhcpType.OFFER, true)), result: 'offer' };
    case DhcpType.REQUEST: {
      const sid = req.options.serverId;
      if (sid !== undefined && sid !== s.serverIp) return { frame: null, result: 'other_server' };
      const wanted = req.options.requestedIp ?? req.ciaddr;
      if (wanted !== s.ip) {
        const nak: DhcpOptions = { messageType: DhcpType.NAK, serverId: s.serverIp, message: 'not the address of this interface' };
        return { frame: answer(s, req, DhcpType.NAK, 0, nak), result: 'nak' };
      }
      return { frame: answer(s, req, DhcpType.ACK, s.ip, replyOptions(s, DhcpType.ACK, true)), result: 'ack' };
    }
    case DhcpType.INFORM: // RFC 2131 section 4.3.5: configuration only, no lease, no yiaddr
      return { frame: answer(s, req, DhcpType.ACK, 0, replyOptions(s, DhcpType.ACK, false)), result: 'inform' };
    case DhcpType.RELEASE:
      return { frame: null, result: 'released' };
    case DhcpType.DECLINE:
      return { frame: null, result: 'declined' };
    default:
      return { frame: null, result: 'server_message' };
  }
}
