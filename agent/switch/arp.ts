// ARP suppression (spec "VARP"; RFC 826 packet layout, Ethernet/IPv4 only): a
// broadcast request for an address bound on the vnet here, or REACHABLE in
// the VARP cache, is answered locally. Otherwise a resolution by IP is
// started so that a retry can be answered.
import { ARP_OP_REPLY, ARP_OP_REQUEST, ETH_HEADER_LEN, ETH_TYPE_OFFSET, ETHERTYPE_ARP, encodeArp, encodeEthernet, decodeArp, WireError } from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import { C, type SwitchPort, type SwitchVarp } from './types.ts';

/** The reply to `from`'s ARP request when it can be answered here (counted by source), or null (the request is flooded). */
export function suppressedArpReply(ports: Iterable<SwitchPort>, from: SwitchPort, frame: Buffer, varp: SwitchVarp, counters: Counters): Buffer | null {
  const tpa = arpRequestTarget(frame);
  if (tpa === null || tpa === from.ip) return null; // not a request, or a gratuitous ARP
  let mac: number | undefined;
  for (const p of ports) {
    if (p.ip === tpa && p !== from) {
      mac = p.mac;
      counters.inc(C.arpSuppressedLocal);
      break;
    }
  }
  if (mac === undefined) {
    const e = varp.lookupIp(from.vnet, tpa);
    if (e === undefined) {
      varp.resolveIp(from.vnet, tpa);
      return null;
    }
    mac = e.mac;
    counters.inc(C.arpSuppressedVarp);
  }
  return arpReply(from.mac, from.ip, mac, tpa);
}

/** The target IP of an untagged ARP request, or null for anything else. */
export function arpRequestTarget(frame: Buffer): number | null {
  if (frame.readUInt16BE(ETH_TYPE_OFFSET) !== ETHERTYPE_ARP) return null; // 802.1Q-tagged requests are flooded as they are
  try {
    const a = decodeArp(frame.subarray(ETH_HEADER_LEN));
    return a.op === ARP_OP_REQUEST ? a.tpa : null;
  } catch (err) {
    if (err instanceof WireError) return null;
    throw err;
  }
}

/** The reply the owner of (`mac`, `ip`) would send to the requester. */
export function arpReply(requesterMac: number, requesterIp: number, mac: number, ip: number): Buffer {
  const payload = encodeArp({ op: ARP_OP_REPLY, sha: mac, spa: ip, tha: requesterMac, tpa: requesterIp });
  return encodeEthernet({ dst: requesterMac, src: mac, ethertype: ETHERTYPE_ARP, payload });
}

