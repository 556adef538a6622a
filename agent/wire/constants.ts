// Numbers from docs/wire.md (normative) and the RFCs named beside each group.

// --- Common header (spec "Common header") ---
export const KIND_VARP = 1;
export const KIND_FRAME = 2;
export const KIND_RELAY = 3;
export const KIND_WIDTH = 2;
export const COMMON_HEADER_LEN = 4;

// --- Defaults (spec "Defaults") ---
export const DEFAULT_PORT = 1798;
export const DEFAULT_GROUP = '224.10.0.1';
export const DEFAULT_MULTICAST_TTL = 1;

// --- vnet ids (spec "FRAME": 0 invalid, 1 the physical network) ---
export const VNET_INVALID = 0;
export const VNET_PHYSICAL = 1;
export const VNET_MAX = 0xffffffff;
export const VNET_WIDTH = 4;

// --- FRAME (kind 2) ---
export const FRAME_FLAGS_OFFSET = 2;
export const FRAME_ETHERIP_OFFSET = 4;
export const FRAME_VNET_OFFSET = 6;
export const FRAME_HEADER_LEN = 10;
/** 10-byte header + the 14-byte minimum Ethernet header. */
export const FRAME_MIN_LEN = 24;
export const FRAME_FLAG_SEALED = 1;
export const FRAME_FLAGS_KNOWN = FRAME_FLAG_SEALED;
/** RFC 3378 Etherip header: version 3 in the top nibble, 12 reserved bits zero. */
export const ETHERIP_WORD = 0x3000;
export const ETHERIP_VERSION = 3;

// --- VARP (kind 1) ---
export const VARP_OPCODE_OFFSET = 2;
export const VARP_VNET_OFFSET = 4;
export const VARP_MAC_OFFSET = 8;
export const VARP_FLAGS_OFFSET = 14;
export const VARP_RESERVED_OFFSET = 15;
export const VARP_IP_OFFSET = 16;
export const VARP_COA_OFFSET = 20;
export const VARP_NONCE_OFFSET = 24;
export const VARP_VERSION_OFFSET = 28;
export const VARP_LEN = 32;
export const VARP_AUTH_TAG_LEN = 16;
export const VARP_AUTH_LEN = VARP_LEN + VARP_AUTH_TAG_LEN;
export const VARP_REQUEST = 1;
export const VARP_ANNOUNCE = 2;
export const VARP_WITHDRAW = 3;
export const VARP_FLAG_HAS_IP = 1;
export const VARP_FLAG_AUTH = 2;
export const VARP_FLAG_PROXY = 4;
export const VARP_FLAG_GRATUITOUS = 8;
export const VARP_FLAGS_KNOWN =
  VARP_FLAG_HAS_IP | VARP_FLAG_AUTH | VARP_FLAG_PROXY | VARP_FLAG_GRATUITOUS;

// --- RELAY (kind 3) ---
export const RELAY_HOPS_OFFSET = 2;
export const RELAY_RESERVED_OFFSET = 3;
export const RELAY_ORIGIN_OFFSET = 4;
export const RELAY_HEADER_LEN = 8;
export const RELAY_INITIAL_HOPS = 4;
export const RELAY_MAX_HOPS = 0xff;

// --- Addresses ---
export const MAC_WIDTH = 6;
export const IPV4_WIDTH = 4;

// --- Ethernet / IEEE 802.1Q ---
export const ETH_DST_OFFSET = 0;
export const ETH_SRC_OFFSET = 6;
export const ETH_TYPE_OFFSET = 12;
export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
export const ETH_VLAN_HEADER_LEN = ETH_HEADER_LEN + VLAN_TAG_LEN;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const VLAN_VID_MAX = 0xfff;

// --- ARP (RFC 826), Ethernet/IPv4 only ---
export const ARP_LEN = 28;
export const ARP_HTYPE_ETHERNET = 1;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

// --- IPv4 (RFC 791) ---
export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
export const IPV4_MAX_TOTAL_LEN = 0xffff;
export const IPV4_TTL_OFFSET = 8;
export const IPV4_PROTOCOL_OFFSET = 9;
export const IPV4_CHECKSUM_OFFSET = 10;
export const IPV4_SRC_OFFSET = 12;
export const IPV4_DST_OFFSET = 16;
export const IPV4_FLAG_DF = 2;
export const IPV4_FLAG_MF = 1;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IP_DEFAULT_TTL = 64;

// --- ICMP (RFC 792) ---
export const ICMP_HEADER_LEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_NEEDFRAG = 4;
export const ICMP_UNREACH_ADMIN_PROHIBITED = 13;
export const ICMP_TIME_EXCEEDED_TTL = 0;

// --- UDP (RFC 768) ---
export const UDP_HEADER_LEN = 8;
export const UDP_SRC_PORT_OFFSET = 0;
export const UDP_DST_PORT_OFFSET = 2;
export const UDP_ECHO_PORT = 7;
