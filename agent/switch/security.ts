// Port security (seed 003 claim 19: drop packets that arrive on the wrong
// port): a frame a guest sends must carry the MAC bound to its VIF, and for
// IPv4 and ARP also the bound IPv4 address. Reads fields in place; no decode.
import { ARP_LEN, ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_VLAN, IPV4_MIN_HEADER_LEN, VLAN_TAG_LEN } from '../wire/index.ts';

export type PortSecurityReason = 'runt' | 'src_mac' | 'ipv4_truncated' | 'ipv4_src' | 'arp_truncated' | 'arp_sender_mac' | 'arp_sender_ip';

const ETH_SRC_OFFSET = 6;
const ETH_TYPE_OFFSET = 12;
const IPV4_SRC_OFFSET = 12; // RFC 791 header
const ARP_SHA_OFFSET = 8; // RFC 826, Ethernet/IPv4
const ARP_SPA_OFFSET = 14;

export interface Binding {
  mac: number;
  ip: number;
  /** Router and firewall ports send packets from any source IPv4 address (their ARP stays bound). */
  forwarder?: boolean;
}

/**
 * null when the frame may pass, else why it is dropped. Ethertypes other than
 * IPv4 and ARP are checked by source MAC only (their addresses are not bound).
 */
export function checkPortSecurity(frame: Buffer, b: Binding): PortSecurityReason | null {
  if (frame.length < ETH_HEADER_LEN) return 'runt';
  if (frame.readUIntBE(ETH_SRC_OFFSET, 6) !== b.mac) return 'src_mac';
  let type = frame.readUInt16BE(ETH_TYPE_OFFSET);
  let off = ETH_HEADER_LEN;
  if (type === ETHERTYPE_VLAN) {
    if (frame.length < ETH_HEADER_LEN + VLAN_TAG_LEN) return 'runt';
    type = frame.readUInt16BE(ETH_HEADER_LEN + 2);
    off += VLAN_TAG_LEN;
  }
  if (type === ETHERTYPE_IPV4) {
    if (frame.length < off + IPV4_MIN_HEADER_LEN) return 'ipv4_truncated';
    // 0.0.0.0 (DHCP discovery) is not the binding either: addresses come from the state.
    if (frame.readUInt32BE(off + IPV4_SRC_OFFSET) !== b.ip && !b.forwarder) return 'ipv4_src';
  } else if (type === ETHERTYPE_ARP) {
    if (frame.length < off + ARP_LEN) return 'arp_truncated';
    if (frame.readUIntBE(off + ARP_SHA_OFFSET, 6) !== b.mac) return 'arp_sender_mac';
    if (frame.readUInt32BE(off + ARP_SPA_OFFSET) !== b.ip) return 'arp_sender_ip';
  }
  return null;
}
