// The switch's types (ports, vnets, what it needs from VARP and the
// underlay, why a FRAME is dropped) and its counter names.
import type { Resolution } from '../varp/index.ts';
import type { GuestPort } from '../guests/types.ts';
import type { Sealer, Uplink } from './attachments.ts';
import type { PortSecurityReason } from './security.ts';

export type { Sealer, Uplink } from './attachments.ts';

export type Security = 'none' | 'auth' | 'conf';

export interface SwitchPort {
  readonly id: string;
  readonly vnet: number;
  /** The bound MAC and IPv4 address (port security and ARP suppression). */
  mac: number;
  ip: number;
  readonly guest: GuestPort;
  /** A virtual router or firewall interface: it forwards other hosts' packets, so only its MAC is bound. */
  readonly forwarder?: boolean;
  /** Further sender addresses its ARP may carry (an external leg's floating IPs and forward addresses). */
  readonly arpIps?: { has(ip: number): boolean };
  /** The VIF's bandwidth limit (agent/limit/shaper.ts): it sees the guest's frames before the switch does. */
  readonly limit?: { wrap(next: (frame: Buffer) => void): (frame: Buffer) => void };
  /** The VIF's security groups (agent/sg): absent or null, the port is not filtered. */
  filter?: PortFilter | null;
}

/** A port's stateful filter: false drops the frame (the filter counts it). */
export interface PortFilter {
  /** A frame the guest sent, after port security. */
  egress(frame: Buffer): boolean;
  /** A frame about to be delivered to the guest. */
  ingress(frame: Buffer): boolean;
}

export interface VnetConfig {
  id: number;
  security: Security;
  /** COAs for head-end replication; undefined: the underlay's peers. */
  peers?: readonly string[];
  /** Seals and opens FRAMEs of an auth/conf vnet (agent/security); absent: none can be sent or opened. */
  sealer?: Sealer | null;
  /** A bridge to a LAN (the vnet's VLAN interface, agent/vlan): many MACs behind one link. */
  uplink?: Uplink | null;
}

/** What the switch needs from VARP: the engine itself in the agent, a fake in tests. */
export interface SwitchVarp {
  /** The route of (vnet, mac), 'pending' while it resolves (the switch holds the frame), null when dropped (counted). */
  resolve(vnet: number, mac: number): Resolution;
  lookupIp(vnet: number, ip: number): { mac: number } | undefined;
  resolveIp(vnet: number, ip: number): void;
  refresh(vnet: number, mac: number, coa: number): void;
  /** A SEALED frame came straight from `coa`: it may create or complete an entry (spec "VARP", last bullet). */
  learn?(vnet: number, mac: number, coa: number): void;
}

export interface SwitchIo {
  varp: SwitchVarp;
  sendTo(datagram: Buffer, coa: number, port: number): void;
  flood(datagram: Buffer, peers: readonly string[] | undefined): void;
}

/** Why a FRAME from the underlay was not delivered (counted by the caller). */
export type FrameDropReason =
  | 'unknown_vnet'
  | 'sealed_on_open_vnet'
  | 'unsealed_on_secure_vnet'
  | 'seal_no_keys'
  | 'seal_truncated'
  | 'seal_unknown_key'
  | 'seal_bad_tag'
  | 'seal_replay'
  | 'seal_too_old'
  | 'src_group_mac'
  | 'src_local_mac'
  | 'no_port';

export interface Vnet {
  readonly id: number;
  security: Security;
  peers: readonly string[] | undefined;
  sealer: Sealer | null;
  uplink: Uplink | null;
  readonly ports: Map<number, SwitchPort>;
  /** The 10-byte FRAME header for this vnet, copied in front of every frame sent. */
  readonly header: Buffer;
}

const P = 'softudc_switch_';
/** The switch's counter names. */
export const C = {
  shortPath: `${P}short_path_frames_total`,
  txUnicast: `${P}tx_unicast_frames_total`,
  txFlood: `${P}tx_flood_frames_total`,
  queuedOrDropped: `${P}tx_unresolved_frames_total`,
  localFlood: `${P}local_flood_deliveries_total`,
  rxDelivered: `${P}deliveries_total`,
  arpSuppressedLocal: `${P}arp_suppressed_total{source="local"}`,
  arpSuppressedVarp: `${P}arp_suppressed_total{source="varp"}`,
  noVnet: `${P}tx_dropped_total{reason="no_vnet"}`,
  hairpin: `${P}tx_dropped_total{reason="hairpin"}`,
  secure: `${P}tx_dropped_total{reason="security_unavailable"}`,
  deliverErrors: `${P}deliver_errors_total`,
  toUplink: `${P}uplink_tx_frames_total`,
  activations: `${P}port_activations_total`,
  inactiveDropped: {
    runt: `${P}inactive_port_drops_total{reason="runt"}`,
    src_mac: `${P}inactive_port_drops_total{reason="src_mac"}`,
    mac_in_use: `${P}inactive_port_drops_total{reason="mac_in_use"}`,
    moved: `${P}inactive_port_drops_total{reason="moved"}`,
  },
  uplinkDropped: {
    runt: `${P}uplink_rx_dropped_total{reason="runt"}`,
    src_mac: `${P}uplink_rx_dropped_total{reason="src_mac"}`,
    lan_local: `${P}uplink_rx_dropped_total{reason="lan_local"}`,
  },
} as const;
const txDropNames = new Map<string, string>();
export function txDropCounter(reason: string): string {
  let n = txDropNames.get(reason);
  if (!n) txDropNames.set(reason, (n = `${P}tx_dropped_total{reason="${reason}"}`));
  return n;
}
const securityNames = new Map<PortSecurityReason, string>();
export function securityCounter(r: PortSecurityReason): string {
  let n = securityNames.get(r);
  if (!n) securityNames.set(r, (n = `${P}port_security_drops_total{reason="${r}"}`));
  return n;
}
