// Every limit the console and the agent must agree on, defined once. Both
// sides import these (server/, agent/, and the web console for its forms);
// nothing else may repeat a number that appears here. Numbers the wire format
// fixes come from its constants (agent/wire/constants.ts, docs/wire.md); like
// that file, this one imports nothing else, so the browser bundle takes it.
import { VNET_MAX, VNET_PHYSICAL } from '../agent/wire/constants.ts';

// ---- identifiers on a host ----

/** docs/wire.md "FRAME": vnet id 0 is invalid and 1 is the physical network; ids are u32 on the wire. */
export const VNID_MIN = VNET_PHYSICAL + 1;
export const VNID_MAX = VNET_MAX;
/**
 * Inter-router links across hosts travel on a vnet of their own, whose id the
 * console takes once per link from the top of the space counting down (a
 * database sequence); farms' vnets take ids below LINK_VNID_MIN.
 */
export const LINK_VNID_TOP = 0xffff_fffe;
export const LINK_VNID_MIN = 0xff00_0000;
/** The highest id a farm's own vnet may take: the ids above are router links'. */
export const FARM_VNID_MAX = LINK_VNID_MIN - 1;
// ---- NAT and security groups ----

/** One external leg's NAT lists (contract/nat.ts). */
export const NAT_MAX_SNAT_PREFIXES = 64;
export const NAT_MAX_FLOATING_IPS = 1_024;
export const NAT_MAX_PORT_FORWARDS = 1_024;
/** Rules per security group, and remote networks written in one rule (a remote group is an address set). */
export const SG_MAX_RULES = 1_000;
export const SG_MAX_REMOTES = 64;
/** Security groups in one host's state, and rules over all of them. */
export const SG_MAX_GROUPS_PER_HOST = 1_024;
export const SG_MAX_RULES_PER_HOST = 65_536;
/** Address sets in one host's state, and remote entries over the host's sets and rules together. */
export const SG_MAX_ADDRESS_SETS = 1_024;
export const SG_MAX_REMOTE_ENTRIES = 65_536;
/** Groups one VIF belongs to. */
export const SG_MAX_PER_VIF = 16;

/** The ids of VIFs, routers and firewalls on a host (the console writes database ids: 36 characters). */
export const ITEM_ID_MAX_CHARS = 200;
/** Host names as enrolled (a DNS name at most). */
export const HOST_NAME_MAX_CHARS = 253;
/** Display names the console writes beside ids (`<farm>/<vm>/<vif>`). */
export const DISPLAY_NAME_MAX_CHARS = 200;

// ---- kernel devices ----

/** Linux IFNAMSIZ is 16 bytes with the NUL: at most 15 characters. */
export const IFNAME_MAX_CHARS = 15;
/** Interface names the agent creates or uses: no shell or path characters. */
export const IFNAME_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${IFNAME_MAX_CHARS}}$`);
/** Network namespace names (a file in /run/netns). */
export const NETNS_MAX_CHARS = 64;
export const NETNS_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${NETNS_MAX_CHARS}}$`);
/** IEEE 802.1Q: VLAN ids 1..4094 (0 is the priority tag, 4095 reserved). */
export const VID_MIN = 1;
export const VID_MAX = 4094;

// ---- addresses and sizes ----

/** docs/wire.md "FRAME": a 1400-byte guest MTU leaves room for the 38-byte encapsulation on a 1500-byte underlay. */
export const GUEST_MTU_DEFAULT = 1400;
/** RFC 791: every IPv4 host takes 68-byte datagrams; the IPv4 maximum is 65535. */
export const STATE_MTU_MIN = 68;
export const STATE_MTU_MAX = 65_535;
/** DHCP for guests (contract/dhcp.ts): DNS servers announced after the resolver, classless static routes per vnet. */
export const DHCP_DNS_SERVERS_MAX = 3;
export const DHCP_ROUTES_MAX = 16;
/** RFC 2453 3.6: RIP metrics 1..15 (16 is infinity). */
export const RIP_METRIC_MIN = 1;
export const RIP_METRIC_MAX = 15;
/** Guest bandwidth limits: up to 1 Tbit/s and a 1 GiB bucket, far beyond any real guest. */
export const LIMIT_MAX_MBPS = 1_000_000;
export const LIMIT_MAX_BURST_KB = 1_048_576;

// ---- secrets (wire.md "SEALED frames", "VARP") ----

/** AES-256-GCM key of a sealed vnet, and the nonce prefix its hosts share. */
export const SEAL_KEY_BYTES = 32;
export const SEAL_SALT_BYTES = 4;
/** wire.md "VARP" AUTH: HMAC-SHA-256 keys shorter than this are refused. */
export const VARP_KEY_MIN_BYTES = 16;

// ---- the agent report (agent.report) ----

/** Bounds keep one report (and the row it replaces) to a few megabytes; the agent shortens, never exceeds. */
export const REPORT_MAX_VIFS = 10_000;
export const REPORT_MAX_VARP = 20_000;
export const REPORT_MAX_COUNTERS = 2_000;
export const REPORT_MAX_MESSAGES = 50;
/** DHCP leases listed (the newest first) and vnets with DHCP/DNS counts in one report. */
export const REPORT_MAX_LEASES = 1_000;
export const REPORT_MAX_SERVICE_VNETS = 1_000;
export const REPORT_MESSAGE_MAX_CHARS = 500;
export const APPLY_ERROR_MAX_CHARS = 2_000;
export const COUNTER_NAME_MAX_CHARS = 200;
export const AGENT_VERSION_MAX_CHARS = 64;
/** What an agent declares it can run (`guest:emulated`, `guest:tap`). */
export const CAPABILITIES_MAX = 64;
export const CAPABILITY_MAX_CHARS = 64;

// ---- router manager commands (agent.commands, agent.commandResult) ----

/** Ping: at most 20 probes, at least 100 ms apart, so one call is a few seconds of ICMP, never a flood. */
export const PING_MAX_COUNT = 20;
export const PING_DEFAULT_COUNT = 4;
export const PING_MIN_INTERVAL_MS = 100;
export const PING_MAX_INTERVAL_MS = 5_000;
export const PING_DEFAULT_INTERVAL_MS = 1_000;
/** Traceroute: at most 30 hops, the classic traceroute default. */
export const TRACE_MAX_HOPS = 30;
/** Per-probe wait for an answer. */
export const PROBE_MIN_TIMEOUT_MS = 100;
export const PROBE_MAX_TIMEOUT_MS = 5_000;
export const PROBE_DEFAULT_TIMEOUT_MS = 1_000;
/** Bounds on one view, so a router with a huge table still answers in one row of a few megabytes. */
export const VIEW_MAX_ROUTES = 10_000;
export const VIEW_MAX_ARP = 4_096;
export const VIEW_MAX_INTERFACES = 256;
export const VIEW_MAX_COUNTERS = 500;
/** Rules of one firewall: what the console takes, and what the firewall's view lists whole. */
export const FIREWALL_MAX_RULES = 1_000;
export const VIEW_MAX_RULES = FIREWALL_MAX_RULES;
/** Firewalls: the connection table is summarised (counts) with this many connections listed. */
export const VIEW_MAX_CONNECTIONS = 100;
/** Answers one command may have: 20 replies and a summary, 30 hops and a summary, or one view. */
export const COMMAND_MAX_RESULTS = 64;
/** One answer's JSON at most (a view of a large table). */
export const COMMAND_MAX_RESULT_BYTES = 4 * 1024 * 1024;
/** A command's error text. */
export const COMMAND_ERROR_MAX_CHARS = 2_000;
