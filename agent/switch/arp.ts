// ARP pieces of ARP suppression (RFC 826 packet layout, Ethernet/IPv4 only).
import { ARP_OP_REPLY, ARP_OP_REQUEST, ETHERTYPE_ARP, encodeArp, encodeEthernet, decodeArp, WireError } from '../wire/index.ts';

const ETH_HEADER_LEN = 14;

/** The target IP of an untagged ARP request, or null for anything else. */
export function arpRequestTarget(frame: Buffer): number | null {
  if (frame.readUInt16BE(12) !== ETHERTYPE_ARP) return null; // 802.1Q-tagged requests are flooded as they are
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

