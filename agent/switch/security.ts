// Port security (seed 003 claim 19: drop packets that arrive on the wrong
// port): a frame a guest sends must carry the MAC bound to its VIF, and for
// IPv4 and ARP also the bound IPv4 address. Reads fields in place; no decode.
import {
  ARP_LEN,
  ETH_HEADER_LEN,
  ETH_SRC_OFFSET,
  ETH_TYPE_OFFSET,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_VLAN,
  IPV4_MIN_HEADER_LEN,
  IPV4_SRC_OFFSET,
  VLAN_TAG_LEN,
} from '../wire/index.ts';

export type PortSecurityReason =
  | 'runt'
  | 'src_mac'
  | 'ipv4_truncated'
  | 'ipv4_src'
  | 'arp_truncated'
  | 'arp_sender_mac'
  | 'arp_sender_ip'
  // More than one VLAN tag, or an 802.1ad / 0x9100 service tag: the vnet
  // carries at most one 802.1Q tag, and a stack is how frames hop VLANs.
  | 'vlan_stacked'
  // IPv4 in an 802.2 LLC header without SNAP (SAP 0x06): not an Ethernet II
  // payload whose address could be checked.
  | 'llc_ip';

const ARP_SHA_OFFSET = 8; // RFC 826, Ethernet/IPv4
const ARP_SPA_OFFSET = 14;
/** Below this the type field of an Ethernet header is an 802.3 length, and an LLC header follows. */
const ETHERTYPE_MIN = 0x0600;
const ETHERTYPE_QINQ = 0x88a8; // 802.1ad service tag
const ETHERTYPE_QINQ_OLD = 0x9100; // pre-standard stacking
/** LLC DSAP, SSAP, control (AA AA 03) then a 3-byte OUI and a 2-byte protocol (RFC 1042). */
const LLC_SNAP = 0xaaaa03;
const SNAP_LEN = 8;
const OUI_ETHERTYPE = 0x000000; // RFC 1042: the protocol is an ethertype
const OUI_BRIDGE_TUNNEL = 0x0000f8; // 802.1H: likewise
const LLC_SAP_IP = 0x06;

export interface Binding {
  mac: number;
  ip: number;
  /** Router and firewall ports send packets from any source IPv4 address (their ARP stays bound). */
  forwarder?: boolean;
  /** Further sender addresses its ARP may carry (an external leg's floating IPs and forward addresses). */
  arpIps?: { has(ip: number): boolean };
}

/**
 * null when the frame may pass, else why it is dropped. IPv4 and ARP are
 * found however a guest wraps them — behind one 802.1Q tag or in an LLC/SNAP
 * header — and checked; wrappings that cannot be checked (stacked or service
 * VLAN tags, IPv4 in plain LLC) are dropped. Other payloads are checked by
 * source MAC only (their addresses are not bound).
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
  if (type < ETHERTYPE_MIN) {
    // 802.3 length: an LLC header. SNAP carries an ethertype; plain LLC may carry IPv4 by its SAP.
    if (frame.length >= off + SNAP_LEN && frame.readUIntBE(off, 3) === LLC_SNAP) {
      const oui = frame.readUIntBE(off + 3, 3);
      if (oui === OUI_ETHERTYPE || oui === OUI_BRIDGE_TUNNEL) {
        type = frame.readUInt16BE(off + 6);
        off += SNAP_LEN;
      }
    } else if (frame.length > off && (frame[off] === LLC_SAP_IP || frame[off + 1] === LLC_SAP_IP)) {
      return 'llc_ip';
    }
  }
  if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) return 'vlan_stacked';
  if (type === ETHERTYPE_IPV4) {
    if (frame.length < off + IPV4_MIN_HEADER_LEN) return 'ipv4_truncated';
    // 0.0.0.0 (DHCP discovery) is not the binding either: addresses come from the state.
    if (frame.readUInt32BE(off + IPV4_SRC_OFFSET) !== b.ip && !b.forwarder) return 'ipv4_src';
  } else if (type === ETHERTYPE_ARP) {
    if (frame.length < off + ARP_LEN) return 'arp_truncated';
    if (frame.readUIntBE(off + ARP_SHA_OFFSET, 6) !== b.mac) return 'arp_sender_mac';
    const spa = frame.readUInt32BE(off + ARP_SPA_OFFSET);
    if (spa !== b.ip && !b.arpIps?.has(spa)) return 'arp_sender_ip';
  }
  return null;
}
