// The farm document: a farm's whole intent as one portable JSON value. The
// same schema serves export, import and revision snapshots. Inside the
// document everything refers to everything else by name (vnets, routers,
// firewall interfaces, hosts), never by database id, so a document moves
// between deployments; layout positions are keyed `<kind>:<name>`. Revision
// snapshots alone also carry the database ids of VMs, VIFs, routers and
// firewalls: what names them on hosts (server/compile), so that what runs
// there never depends on a name a user chose. Export leaves them out and
// import ignores them. Longer than 300 lines: the schema of every part of a
// farm and its one rendering belong together.
import { z } from 'zod';
import { DHCP_DEFAULTS, vnetDhcpInput } from './vnetDhcp.ts';
import type { FarmDetail } from './farmShapes.ts';
import {
  actionInput, addressInput, bandwidthInput, burstInput, descriptionInput, guestKindInput, nameInput, protocolInput, securityInput,
} from './farmShapes.ts';
import { FARM_LIMITS, OBJECT_LIMITS, type FarmLimitKind } from '../limits.ts';
import { overLimit } from './farmLimits.ts';
import { byText, MTU_DEFAULT, naturalCompare } from './validate.ts';
import { int32, text, uint32 } from '../../contract/primitives.ts';
import { SG_MAX_PER_VIF, SG_MAX_RULES } from '../../contract/limits.ts';
import { securityDirectionInput, securityGroupModeInput, securityProtocolInput } from './farmShapes.ts';

export const FARM_DOCUMENT_VERSION = 'softudc.farm/v1';

/** Hosts are named by the administrator who enrolled them; the document only carries the name. */
const hostRef = text(253).min(1).nullable().default(null);
const optionalAddress = addressInput.optional();
/** Revision snapshots only: the database id that names the item on hosts. */
const snapshotId = z.guid().optional();

/** The vnet bridged to 802.1Q VLAN `vid` on `interface` of host `host` (docs/agent-state.md "VLAN interface"). */
export const documentVlanSchema = z.strictObject({
  host: text(253).min(1),
  interface: text(64),
  vid: int32(),
});

export const documentVnetSchema = z.strictObject({
  name: nameInput,
  /** Omitted: the importing deployment picks a free one. */
  vnid: uint32().optional(),
  cidr: addressInput,
  mtu: int32().default(MTU_DEFAULT),
  security: securityInput.default('none'),
  /** Omitted when empty, so documents without VLANs stay as they were. */
  vlans: z.array(documentVlanSchema).max(OBJECT_LIMITS.vlansPerVnet).optional(),
  /** DHCP and DNS settings; omitted: the defaults (DHCP on). */
  dhcp: vnetDhcpInput.optional(),
});

export const documentVifSchema = z.strictObject({
  id: snapshotId,
  /** Revision snapshots only: the VIF's number, which names its TAP device on hosts. */
  serial: int32().min(1).optional(),
  /** Omitted: eth<index in the VM's list>. */
  name: nameInput.optional(),
  vnet: nameInput,
  mac: optionalAddress,
  ip: optionalAddress,
  /** Names of the farm's security groups the VIF belongs to; omitted or empty: not filtered. */
  securityGroups: z.array(nameInput).max(SG_MAX_PER_VIF).optional(),
});

export const documentVmSchema = z.strictObject({
  id: snapshotId,
  name: nameInput,
  host: hostRef,
  guestKind: guestKindInput.default('emulated'),
  /** Omitted: unlimited. Each VIF of the VM gets this limit (docs/agent-state.md "Bandwidth limits"). */
  bandwidthMbps: bandwidthInput.optional(),
  burstKb: burstInput.optional(),
  vifs: z.array(documentVifSchema).max(OBJECT_LIMITS.vifsPerVm).default([]),
});

export const documentRouterInterfaceSchema = z.strictObject({
  vnet: nameInput,
  ip: optionalAddress,
  /** Omitted: the vnet's prefix length. */
  prefixLen: int32().optional(),
  mac: optionalAddress,
  rip: z.boolean().default(false),
});

export const documentStaticRouteSchema = z.strictObject({
  destination: addressInput,
  nextHop: addressInput,
  metric: int32().default(1),
});

export const documentRouterSchema = z.strictObject({
  id: snapshotId,
  name: nameInput,
  host: hostRef,
  interfaces: z.array(documentRouterInterfaceSchema).max(OBJECT_LIMITS.interfacesPerNode).default([]),
  staticRoutes: z.array(documentStaticRouteSchema).max(OBJECT_LIMITS.staticRoutesPerRouter).default([]),
});

export const documentRouterLinkSchema = z.strictObject({
  a: nameInput,
  b: nameInput,
  /** Omitted: a free /30 from 169.254.0.0/16. */
  cidr: optionalAddress,
  ipA: optionalAddress,
  ipB: optionalAddress,
  rip: z.boolean().default(false),
  /** Revision snapshots only: the link's vnet id across hosts (an import takes a fresh one). */
  vnid: uint32().optional(),
});

export const documentFirewallInterfaceSchema = z.strictObject({
  name: nameInput,
  vnet: nameInput,
  ip: optionalAddress,
  prefixLen: int32().optional(),
  mac: optionalAddress,
});

export const documentRuleSchema = z.strictObject({
  action: actionInput,
  protocol: protocolInput.default('any'),
  source: addressInput.default('0.0.0.0/0'),
  destination: addressInput.default('0.0.0.0/0'),
  portFrom: int32().nullable().default(null),
  portTo: int32().nullable().default(null),
  /** Name of one of this firewall's interfaces; null matches any. */
  interface: nameInput.nullable().default(null),
  log: z.boolean().default(false),
  description: text(200).default(''),
});

export const documentFirewallSchema = z.strictObject({
  id: snapshotId,
  name: nameInput,
  host: hostRef,
  defaultPolicy: actionInput.default('deny'),
  interfaces: z.array(documentFirewallInterfaceSchema).max(OBJECT_LIMITS.interfacesPerNode).default([]),
  rules: z.array(documentRuleSchema).max(OBJECT_LIMITS.rulesPerFirewall).default([]),
});

/** A security group's rule (docs/security-groups.md); no remote at all: anywhere. */
export const documentSecurityRuleSchema = z.strictObject({
  /** Revision snapshots only: the rule's database id, its id on hosts. */
  id: snapshotId,
  direction: securityDirectionInput,
  protocol: securityProtocolInput.default('any'),
  portFrom: int32().nullable().default(null),
  portTo: int32().nullable().default(null),
  icmpType: int32().nullable().default(null),
  icmpCode: int32().nullable().default(null),
  remoteCidr: addressInput.nullable().default(null),
  /** The name of a group of this document: its members' addresses. */
  remoteGroup: nameInput.nullable().default(null),
  description: text(200).default(''),
});

export const documentSecurityGroupSchema = z.strictObject({
  id: snapshotId,
  name: nameInput,
  description: descriptionInput.default(''),
  rules: z.array(documentSecurityRuleSchema).max(SG_MAX_RULES).default([]),
});

/** Designer canvas coordinates reach this far from the origin, far beyond any drawing. */
export const COORDINATE_MAX = 1_000_000;
const coordinate = z.number().min(-COORDINATE_MAX).max(COORDINATE_MAX);
export const positionSchema = z.strictObject({ x: coordinate, y: coordinate });
export type Position = z.output<typeof positionSchema>;

/** A stored position still within the canvas (rows written before the bound was checked may hold anything). */
export const isPosition = (p: unknown): p is Position => positionSchema.safeParse(p).success;

/** A top-level list of the document, at most as long as one farm may hold (server/limits.ts). */
const farmList = <T extends z.ZodType>(item: T, kind: FarmLimitKind) =>
  z.array(item).max(FARM_LIMITS[kind], { error: (iss) => overLimit(kind, Array.isArray(iss.input) ? iss.input.length : FARM_LIMITS[kind] + 1) });

export const farmDocumentSchema = z.strictObject({
  version: z.literal(FARM_DOCUMENT_VERSION),
  name: nameInput,
  description: descriptionInput.default(''),
  vnets: farmList(documentVnetSchema, 'vnets').default([]),
  vms: farmList(documentVmSchema, 'vms').default([]),
  routers: farmList(documentRouterSchema, 'routers').default([]),
  routerLinks: farmList(documentRouterLinkSchema, 'routerLinks').default([]),
  firewalls: farmList(documentFirewallSchema, 'firewalls').default([]),
  /** Omitted: `none` (documents from before security groups behave as they did). */
  securityGroupMode: securityGroupModeInput.default('none'),
  securityGroups: farmList(documentSecurityGroupSchema, 'securityGroups').default([]),
  /** Designer positions by `<kind>:<name>` (kind: vnet, vm, router, firewall). */
  layout: z.record(text(80), positionSchema).default({}),
});

/** A parsed document: defaults filled, addresses possibly still omitted. */
export type FarmDocument = z.output<typeof farmDocumentSchema>;
/** What a client may send (defaults may be left out). */
export type FarmDocumentInput = z.input<typeof farmDocumentSchema>;
export const LAYOUT_KINDS = ['vnet', 'vm', 'router', 'firewall'] as const;
export type LayoutKind = (typeof LAYOUT_KINDS)[number];
export const layoutKey = (kind: LayoutKind, name: string) => `${kind}:${name}`;

/** What a revision snapshot carries beyond the document: the VIFs' numbers, the links' vnet ids (the ids are in the detail). */
export interface SnapshotIds {
  serials: ReadonlyMap<string, number>;
  /** Router link id → the link's vnet id. */
  linkVnids: ReadonlyMap<string, number>;
}

/**
 * Renders stored intent as a document. Everything is sorted (by name; rules
 * keep their order), so equal intent always gives an equal document and two
 * revisions can be compared line by line. With `ids` (a revision snapshot)
 * VMs, VIFs, routers and firewalls carry their database ids.
 */
export function toFarmDocument(detail: FarmDetail, positions: Record<string, Position>, ids?: SnapshotIds): FarmDocument {
  const idOf = (id: string) => (ids ? { id } : {});
  const serialOf = (id: string) => {
    const serial = ids?.serials.get(id);
    return serial === undefined ? {} : { serial };
  };
  const vnetName = new Map(detail.vnets.map((v) => [v.id, v.name]));
  const groupName = new Map(detail.securityGroups.map((g) => [g.id, g.name]));
  const groupsOf = (ids: string[]) => (ids.length ? { securityGroups: ids.map((id) => name(groupName, id)) } : {});
  const routerName = new Map(detail.routers.map((r) => [r.id, r.name]));
  const name = (m: Map<string, string>, id: string) => {
    const n = m.get(id);
    if (n === undefined) throw new Error(`dangling reference ${id} in farm ${detail.id}`);
    return n;
  };
  const sortByName = <T extends { name: string }>(xs: T[]) => [...xs].sort((a, b) => byText(a.name, b.name));

  const layout: Record<string, Position> = {};
  const nodes: [LayoutKind, { id: string; name: string }[]][] = [
    ['vnet', detail.vnets], ['vm', detail.vms], ['router', detail.routers], ['firewall', detail.firewalls],
  ];
  for (const [kind, list] of nodes) {
    for (const n of list) {
      const p = positions[n.id];
      if (p) layout[layoutKey(kind, n.name)] = { x: p.x, y: p.y };
    }
  }
  const sortedLayout = Object.fromEntries(Object.entries(layout).sort(([a], [b]) => byText(a, b)));

  return {
    version: FARM_DOCUMENT_VERSION,
    name: detail.name,
    description: detail.description,
    vnets: sortByName(detail.vnets).map((v) => ({
      name: v.name, vnid: v.vnid, cidr: v.cidr, mtu: v.mtu, security: v.security,
      ...(JSON.stringify(v.dhcp) === JSON.stringify(DHCP_DEFAULTS) ? {} : { dhcp: v.dhcp }),
      ...(v.vlans.length
        ? { vlans: v.vlans.map((l) => ({ host: l.hostName, interface: l.interface, vid: l.vid })).sort((a, b) => byText(a.host, b.host)) }
        : {}),
    })),
    vms: sortByName(detail.vms).map((vm) => ({
      ...idOf(vm.id),
      name: vm.name,
      host: vm.hostName,
      guestKind: vm.guestKind,
      ...(vm.bandwidthMbps !== null ? { bandwidthMbps: vm.bandwidthMbps } : {}),
      ...(vm.burstKb !== null ? { burstKb: vm.burstKb } : {}),
      vifs: [...vm.vifs]
        .sort((a, b) => naturalCompare(a.name, b.name))
        .map((f) => ({
          ...idOf(f.id), ...serialOf(f.id), name: f.name, vnet: name(vnetName, f.vnetId), mac: f.mac, ip: f.ip, ...groupsOf(f.securityGroups),
        })),
    })),
    routers: sortByName(detail.routers).map((r) => ({
      ...idOf(r.id),
      name: r.name,
      host: r.hostName,
      interfaces: r.interfaces
        .map((i) => ({ vnet: name(vnetName, i.vnetId), ip: i.ip, prefixLen: i.prefixLen, mac: i.mac, rip: i.rip }))
        .sort((a, b) => byText(a.vnet, b.vnet)),
      staticRoutes: r.staticRoutes
        .map((s) => ({ destination: s.destination, nextHop: s.nextHop, metric: s.metric }))
        .sort((a, b) => byText(a.destination, b.destination)),
    })),
    routerLinks: detail.routerLinks
      .map((l) => {
        const vnid = ids?.linkVnids.get(l.id);
        return { a: name(routerName, l.routerAId), b: name(routerName, l.routerBId), cidr: l.cidr, ipA: l.ipA, ipB: l.ipB, rip: l.rip, ...(vnid === undefined ? {} : { vnid }) };
      })
      .sort((x, y) => byText(x.a, y.a) || byText(x.b, y.b)),
    firewalls: sortByName(detail.firewalls).map((f) => ({
      ...idOf(f.id),
      name: f.name,
      host: f.hostName,
      defaultPolicy: f.defaultPolicy,
      interfaces: sortByName(f.interfaces).map((i) => ({
        name: i.name, vnet: name(vnetName, i.vnetId), ip: i.ip, prefixLen: i.prefixLen, mac: i.mac,
      })),
      rules: f.rules.map((r) => ({
        action: r.action, protocol: r.protocol, source: r.source, destination: r.destination, portFrom: r.portFrom,
        portTo: r.portTo, interface: r.interface, log: r.log, description: r.description,
      })),
    })),
    securityGroupMode: detail.securityGroupMode,
    securityGroups: sortByName(detail.securityGroups).map((g) => ({
      ...idOf(g.id),
      name: g.name,
      description: g.description,
      rules: g.rules.map((r) => ({
        ...idOf(r.id), direction: r.direction, protocol: r.protocol, portFrom: r.portFrom, portTo: r.portTo, icmpType: r.icmpType,
        icmpCode: r.icmpCode, remoteCidr: r.remoteCidr, remoteGroup: r.remoteGroupId === null ? null : name(groupName, r.remoteGroupId),
        description: r.description,
      })),
    })),
    layout: sortedLayout,
  };
}
