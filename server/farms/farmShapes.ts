// The shapes farm intent is shown in (tRPC outputs) and the input pieces the
// farm, vnet, VM, VIF, router and firewall procedures share. Services return
// exactly these types; routers declare them with `.output(...)`.
import { z } from 'zod';
import { cursorInput, DEFAULT_LIMIT, MAX_LIMIT } from '../db/listPage.ts';
import { FIREWALL_ACTIONS, FIREWALL_PROTOCOLS } from './intentRules.ts';
import { NAME_MAX, NAME_PATTERN } from './validate.ts';
import { int32, text } from '../../contract/primitives.ts';
import { vnetDhcpView } from './vnetDhcp.ts';
import { SECURITY_GROUP_MODES } from './securityRules.ts';
import { SG_DIRECTIONS, SG_PROTOCOLS } from '../../contract/securityGroups.ts';

// ---- input pieces ----

export const idInput = z.guid();
export const nameInput = text(NAME_MAX)
  .min(1)
  .regex(NAME_PATTERN, 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"');
export const expectedRevisionInput = int32().min(1);
/** Addresses are checked by the services, which name the field and say what is wrong. */
export const addressInput = text(64);
export const descriptionInput = text(1000);
export const guestKindInput = z.enum(['emulated', 'tap']);
/** Per-VM bandwidth limit in Mbit/s (a token bucket on each of its VIFs in the agent). */
export const bandwidthInput = int32().min(1).max(100_000);
/** Token bucket depth in KiB. */
export const burstInput = int32().min(1).max(1_048_576);
export const securityInput = z.enum(['none', 'auth', 'conf']);
export const actionInput = z.enum(FIREWALL_ACTIONS);
export const protocolInput = z.enum(FIREWALL_PROTOCOLS);
export const securityGroupModeInput = z.enum(SECURITY_GROUP_MODES);
export const securityDirectionInput = z.enum(SG_DIRECTIONS);
export const securityProtocolInput = z.enum(SG_PROTOCOLS);

export const pageInput = {
  cursor: cursorInput.optional(),
  limit: int32().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
};
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const ruleInput = z.strictObject({
  action: actionInput,
  protocol: protocolInput.optional(),
  source: addressInput.optional(),
  destination: addressInput.optional(),
  portFrom: int32().nullable().optional(),
  portTo: int32().nullable().optional(),
  interface: text(NAME_MAX).nullable().optional(),
  log: z.boolean().optional(),
  description: text(200).optional(),
});

// ---- views ----

export const farmSummaryView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  revision: z.int(),
  deployedRevision: z.int().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  counts: z.object({ vnets: z.int(), vms: z.int(), routers: z.int(), firewalls: z.int() }),
});
export type FarmSummary = z.infer<typeof farmSummaryView>;

export const vnetView = z.object({
  id: z.string(),
  farmId: z.string(),
  vnid: z.int(),
  name: z.string(),
  cidr: z.string(),
  mtu: z.int(),
  security: securityInput,
  /** DHCP and DNS for the vnet's guests. */
  dhcp: vnetDhcpView,
  createdAt: z.date(),
  updatedAt: z.date(),
  /** Hosts where the vnet is bridged to an 802.1Q VLAN, sorted by host name; empty when it has none. */
  vlans: z.array(z.object({ hostId: z.string(), hostName: z.string(), interface: z.string(), vid: z.int() })),
});
export type VnetView = z.infer<typeof vnetView>;

export const vifView = z.object({
  id: z.string(),
  vmId: z.string(),
  vnetId: z.string(),
  name: z.string(),
  mac: z.string(),
  ip: z.string(),
  /** Ids of the security groups the VIF belongs to, by group name; empty: not filtered. */
  securityGroups: z.array(z.string()),
});
export type VifView = z.infer<typeof vifView>;

export const vmView = z.object({
  id: z.string(),
  farmId: z.string(),
  name: z.string(),
  hostId: z.string().nullable(),
  hostName: z.string().nullable(),
  guestKind: guestKindInput,
  bandwidthMbps: z.int().nullable(),
  burstKb: z.int().nullable(),
  locationVersion: z.int(),
  /** A live migration under way (vm.migrate live): the host the VM is moving to; null: none. */
  migratingToHostId: z.string().nullable(),
  /** When that live migration was started; null: none. */
  migrationStartedAt: z.date().nullable(),
  /**
   * Why that move could not be finished (the destination reported the VM
   * there, but the console could not record it); null: no failure.
   */
  migrationError: z.string().nullable(),
  /** When it failed. */
  migrationErrorAt: z.date().nullable(),
  /**
   * With an error: when the destination's reports try again (a passing
   * failure, backing off); null: stopped until an operator retries
   * (vm.retryMigration) or cancels (vm.cancelMigration) the move.
   */
  migrationRetryAt: z.date().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  vifs: z.array(vifView),
});
export type VmView = z.infer<typeof vmView>;

export const routerInterfaceView = z.object({
  id: z.string(),
  routerId: z.string(),
  vnetId: z.string(),
  ip: z.string(),
  prefixLen: z.int(),
  mac: z.string(),
  rip: z.boolean(),
});
export type RouterInterfaceView = z.infer<typeof routerInterfaceView>;

export const staticRouteView = z.object({
  id: z.string(),
  routerId: z.string(),
  destination: z.string(),
  nextHop: z.string(),
  metric: z.int(),
});
export type StaticRouteView = z.infer<typeof staticRouteView>;

export const routerView = z.object({
  id: z.string(),
  farmId: z.string(),
  name: z.string(),
  hostId: z.string().nullable(),
  hostName: z.string().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  interfaces: z.array(routerInterfaceView),
  staticRoutes: z.array(staticRouteView),
});
export type RouterView = z.infer<typeof routerView>;

export const routerLinkView = z.object({
  id: z.string(),
  farmId: z.string(),
  routerAId: z.string(),
  routerBId: z.string(),
  cidr: z.string(),
  ipA: z.string(),
  ipB: z.string(),
  rip: z.boolean(),
});
export type RouterLinkView = z.infer<typeof routerLinkView>;

export const firewallInterfaceView = z.object({
  id: z.string(),
  firewallId: z.string(),
  name: z.string(),
  vnetId: z.string(),
  ip: z.string(),
  prefixLen: z.int(),
  mac: z.string(),
});
export type FirewallInterfaceView = z.infer<typeof firewallInterfaceView>;

export const firewallRuleView = z.object({
  id: z.string(),
  position: z.int(),
  action: actionInput,
  protocol: protocolInput,
  source: z.string(),
  destination: z.string(),
  portFrom: z.int().nullable(),
  portTo: z.int().nullable(),
  interfaceId: z.string().nullable(),
  interface: z.string().nullable(),
  log: z.boolean(),
  description: z.string(),
});
export type FirewallRuleView = z.infer<typeof firewallRuleView>;

export const firewallView = z.object({
  id: z.string(),
  farmId: z.string(),
  name: z.string(),
  hostId: z.string().nullable(),
  hostName: z.string().nullable(),
  defaultPolicy: actionInput,
  createdAt: z.date(),
  updatedAt: z.date(),
  interfaces: z.array(firewallInterfaceView),
  rules: z.array(firewallRuleView),
});
export type FirewallView = z.infer<typeof firewallView>;

export const NAT_PROTOCOL_INPUT = z.enum(['tcp', 'udp']);

export const floatingIpView = z.object({
  id: z.string(),
  legId: z.string(),
  /** The pool address. */
  ip: z.string(),
  /** The VIF (of a VM of this farm) it maps to, both ways. */
  vifId: z.string(),
});
export type FloatingIpView = z.infer<typeof floatingIpView>;

export const portForwardView = z.object({
  id: z.string(),
  legId: z.string(),
  protocol: NAT_PROTOCOL_INPUT,
  externalPort: z.int(),
  vifId: z.string(),
  internalPort: z.int(),
});
export type PortForwardView = z.infer<typeof portForwardView>;

/** A router's or firewall's interface on an external network, with its NAT. */
export const externalLegView = z.object({
  id: z.string(),
  farmId: z.string(),
  externalNetworkId: z.string(),
  networkName: z.string(),
  routerId: z.string().nullable(),
  firewallId: z.string().nullable(),
  ip: z.string(),
  /** The external network's prefix length and gateway. */
  prefixLen: z.int(),
  gateway: z.string(),
  mac: z.string(),
  snat: z.array(z.string()),
  floatingIps: z.array(floatingIpView),
  portForwards: z.array(portForwardView),
});
export type ExternalLegView = z.infer<typeof externalLegView>;
export const securityRuleView = z.object({
  id: z.string(),
  position: z.int(),
  direction: securityDirectionInput,
  protocol: securityProtocolInput,
  portFrom: z.int().nullable(),
  portTo: z.int().nullable(),
  icmpType: z.int().nullable(),
  icmpCode: z.int().nullable(),
  /** Exactly one of remoteCidr and remoteGroupId is set. */
  remoteCidr: z.string().nullable(),
  remoteGroupId: z.string().nullable(),
  remoteGroup: z.string().nullable(),
  description: z.string(),
});
export type SecurityRuleView = z.infer<typeof securityRuleView>;

export const securityGroupView = z.object({
  id: z.string(),
  farmId: z.string(),
  name: z.string(),
  description: z.string(),
  createdAt: z.date(),
  updatedAt: z.date(),
  rules: z.array(securityRuleView),
  /** Ids of the VIFs that belong to the group. */
  members: z.array(z.string()),
});
export type SecurityGroupView = z.infer<typeof securityGroupView>;

/**
 * The whole farm: everything its summary has (counts included) plus its
 * contents. farm.get answers it, and so does every procedure that makes a
 * farm (create, clone, import), so a new farm reads exactly as it will later.
 */
export const farmDetailView = farmSummaryView.extend({
  vnets: z.array(vnetView),
  vms: z.array(vmView),
  routers: z.array(routerView),
  routerLinks: z.array(routerLinkView),
  firewalls: z.array(firewallView),
  externalLegs: z.array(externalLegView),
  /** `default`: new VIFs join the group named default; `none`: nothing is created or assigned. */
  securityGroupMode: securityGroupModeInput,
  securityGroups: z.array(securityGroupView),
});
export type FarmDetail = z.infer<typeof farmDetailView>;

/** Every intent mutation answers with the farm's new revision. */
export const mutationOf = <K extends string, T extends z.ZodType>(key: K, item: T) =>
  z.object({ farmRevision: z.int() }).extend({ [key]: item } as { [P in K]: T });
export const deletedView = z.object({ farmRevision: z.int(), id: z.string() });
