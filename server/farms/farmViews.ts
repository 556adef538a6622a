// Prisma selects and row-to-view mappers for farm intent, shared by the
// entity services and by the whole-farm read (farm.get, export, revisions).
import { isPosition, type Position } from './farmDocument.ts';
import { dhcpOfRow } from './vnetDhcp.ts';
import type { Prisma } from '../db/generated/client.ts';
import type {
  ExternalLegView, FarmDetail, FarmSummary, FirewallView, RouterLinkView, RouterView, SecurityGroupView, VifView, VmView, VnetView,
} from './farmShapes.ts';
import { notFound } from '../errors.ts';
import { vnidNumber, type Tx } from './farmAccess.ts';
import { naturalCompare } from './validate.ts';

const created = [{ createdAt: 'asc' as const }, { id: 'asc' as const }];
const ruleOrder = [{ position: 'asc' as const }, { id: 'asc' as const }];

export const vnetSelect = {
  id: true, farmId: true, vnid: true, name: true, cidr: true, mtu: true, security: true, dhcp: true, createdAt: true, updatedAt: true,
  vlans: { select: { hostId: true, interface: true, vid: true, host: { select: { name: true } } } },
} as const;

export const vifSelect = {
  id: true, vmId: true, vnetId: true, name: true, mac: true, ip: true,
  securityGroups: { select: { groupId: true, group: { select: { name: true } } } },
} as const;

type VifRow = Omit<VifView, 'securityGroups'> & { securityGroups: { groupId: string; group: { name: string } }[] };

/** A VIF as the API shows it: its groups' ids in the order of their names. */
export function toVifView(r: VifRow): VifView {
  return {
    id: r.id, vmId: r.vmId, vnetId: r.vnetId, name: r.name, mac: r.mac, ip: r.ip,
    securityGroups: [...r.securityGroups].sort((a, b) => naturalCompare(a.group.name, b.group.name)).map((g) => g.groupId),
  };
}

export const securityRuleSelect = {
  id: true, groupId: true, position: true, direction: true, protocol: true, portFrom: true, portTo: true, icmpType: true, icmpCode: true,
  remoteCidr: true, remoteGroupId: true, description: true,
} as const;

export const securityGroupSelect = {
  id: true, farmId: true, name: true, description: true, createdAt: true, updatedAt: true,
  rules: { select: securityRuleSelect, orderBy: ruleOrder },
  vifs: { select: { vifId: true } },
} as const;

type SecurityRuleRow = Omit<SecurityGroupView['rules'][number], 'position' | 'remoteGroup'> & { groupId: string; position: number };

/** A group as the API shows it; `names` gives the names of the farm's groups by id (for remote groups). */
export function toSecurityGroupView(
  g: Omit<SecurityGroupView, 'rules' | 'members'> & { rules: SecurityRuleRow[]; vifs: { vifId: string }[] },
  names: ReadonlyMap<string, string>,
): SecurityGroupView {
  return {
    id: g.id, farmId: g.farmId, name: g.name, description: g.description, createdAt: g.createdAt, updatedAt: g.updatedAt,
    rules: g.rules.map((r, i) => ({
      id: r.id, position: i, direction: r.direction, protocol: r.protocol, portFrom: r.portFrom, portTo: r.portTo,
      icmpType: r.icmpType, icmpCode: r.icmpCode, remoteCidr: r.remoteCidr, remoteGroupId: r.remoteGroupId,
      remoteGroup: r.remoteGroupId === null ? null : (names.get(r.remoteGroupId) ?? null), description: r.description,
    })),
    members: g.vifs.map((v) => v.vifId).sort(),
  };
}

/** The farm's groups by name, with their rules and members. */
export async function loadSecurityGroups(q: Tx, farmId: string): Promise<SecurityGroupView[]> {
  const rows = await q.securityGroup.findMany({ where: { farmId }, select: securityGroupSelect });
  const names = new Map(rows.map((g) => [g.id, g.name]));
  return rows.map((g) => toSecurityGroupView(g, names)).sort((a, b) => naturalCompare(a.name, b.name));
}

export const vmSelect = {
  id: true, farmId: true, name: true, hostId: true, host: { select: { name: true } }, guestKind: true,
  bandwidthMbps: true, burstKb: true, locationVersion: true, migratingToHostId: true, migrationStartedAt: true,
  migrationError: true, migrationErrorAt: true, migrationRetryAt: true,
  createdAt: true, updatedAt: true, vifs: { select: vifSelect },
} as const;

export const routerInterfaceSelect = { id: true, routerId: true, vnetId: true, ip: true, prefixLen: true, mac: true, rip: true } as const;
export const staticRouteSelect = { id: true, routerId: true, destination: true, nextHop: true, metric: true } as const;

export const routerSelect = {
  id: true, farmId: true, name: true, hostId: true, host: { select: { name: true } }, createdAt: true, updatedAt: true,
  interfaces: { select: routerInterfaceSelect, orderBy: created },
  staticRoutes: { select: staticRouteSelect, orderBy: created },
} as const;

export const routerLinkSelect = { id: true, farmId: true, routerAId: true, routerBId: true, cidr: true, ipA: true, ipB: true, rip: true } as const;

export const firewallInterfaceSelect = { id: true, firewallId: true, name: true, vnetId: true, ip: true, prefixLen: true, mac: true } as const;
export const firewallRuleSelect = {
  id: true, firewallId: true, position: true, action: true, protocol: true, source: true, destination: true, portFrom: true, portTo: true,
  interfaceId: true, interface: { select: { name: true } }, log: true, description: true,
} as const;

export const firewallSelect = {
  id: true, farmId: true, name: true, hostId: true, host: { select: { name: true } }, defaultPolicy: true,
  createdAt: true, updatedAt: true,
  interfaces: { select: firewallInterfaceSelect, orderBy: created },
  rules: { select: firewallRuleSelect, orderBy: ruleOrder },
} as const;

export const externalLegSelect = {
  id: true, farmId: true, externalNetworkId: true, routerId: true, firewallId: true, ip: true, mac: true, snat: true,
  externalNetwork: { select: { name: true, cidr: true, gateway: true } },
  addresses: { where: { vifId: { not: null } }, select: { id: true, legId: true, ip: true, vifId: true }, orderBy: created },
  portForwards: { select: { id: true, legId: true, protocol: true, externalPort: true, vifId: true, internalPort: true }, orderBy: created },
} as const;

type ExternalLegRow = Prisma.ExternalLegGetPayload<{ select: typeof externalLegSelect }>;

export function toExternalLegView(r: ExternalLegRow): ExternalLegView {
  const { externalNetwork: n, addresses, portForwards, ...rest } = r;
  return {
    ...rest,
    networkName: n.name,
    prefixLen: Number(n.cidr.split('/')[1]),
    gateway: n.gateway,
    floatingIps: addresses.map((a) => ({ id: a.id, legId: a.legId, ip: a.ip, vifId: a.vifId! })),
    portForwards: portForwards.map((f) => ({ ...f, protocol: f.protocol === 'udp' ? 'udp' as const : 'tcp' as const })),
  };
}

type VlanRow = { hostId: string; interface: string; vid: number; host: { name: string } };

export function toVnetView(r: { vnid: bigint | number; vlans: VlanRow[]; dhcp: unknown } & Omit<VnetView, 'vnid' | 'vlans' | 'dhcp'>): VnetView {
  return {
    id: r.id, farmId: r.farmId, vnid: vnidNumber(r.vnid), name: r.name, cidr: r.cidr, mtu: r.mtu, security: r.security, dhcp: dhcpOfRow(r.dhcp),
    createdAt: r.createdAt, updatedAt: r.updatedAt,
    vlans: r.vlans
      .map((l) => ({ hostId: l.hostId, hostName: l.host.name, interface: l.interface, vid: l.vid }))
      .sort((a, b) => naturalCompare(a.hostName, b.hostName)),
  };
}

export function toVmView(r: Omit<VmView, 'hostName' | 'vifs'> & { host: { name: string } | null; vifs: VifRow[] }): VmView {
  return {
    id: r.id, farmId: r.farmId, name: r.name, hostId: r.hostId, hostName: r.host?.name ?? null, guestKind: r.guestKind,
    bandwidthMbps: r.bandwidthMbps, burstKb: r.burstKb, locationVersion: r.locationVersion,
    migratingToHostId: r.migratingToHostId, migrationStartedAt: r.migrationStartedAt,
    migrationError: r.migrationError, migrationErrorAt: r.migrationErrorAt, migrationRetryAt: r.migrationRetryAt, createdAt: r.createdAt, updatedAt: r.updatedAt,
    vifs: [...r.vifs].sort((a, b) => naturalCompare(a.name, b.name)).map(toVifView),
  };
}

export function toRouterView(r: Omit<RouterView, 'hostName'> & { host: { name: string } | null }): RouterView {
  return {
    id: r.id, farmId: r.farmId, name: r.name, hostId: r.hostId, hostName: r.host?.name ?? null,
    createdAt: r.createdAt, updatedAt: r.updatedAt,
    interfaces: r.interfaces.map((i) => ({ ...i })),
    staticRoutes: r.staticRoutes.map((s) => ({ ...s })),
  };
}

export function toRouterLinkView(r: RouterLinkView): RouterLinkView {
  return { ...r };
}

type RuleRow = Omit<FirewallView['rules'][number], 'interface'> & { interface: { name: string } | null };

export function toFirewallView(
  r: Omit<FirewallView, 'hostName' | 'rules'> & { host: { name: string } | null; rules: RuleRow[] },
): FirewallView {
  return {
    id: r.id, farmId: r.farmId, name: r.name, hostId: r.hostId, hostName: r.host?.name ?? null,
    defaultPolicy: r.defaultPolicy, createdAt: r.createdAt, updatedAt: r.updatedAt,
    interfaces: r.interfaces.map((i) => ({ ...i })),
    // Positions are shown as 0..n-1 whatever gaps storage has.
    rules: r.rules.map((x, i) => ({
      id: x.id, position: i, action: x.action, protocol: x.protocol, source: x.source, destination: x.destination,
      portFrom: x.portFrom, portTo: x.portTo, interfaceId: x.interfaceId, interface: x.interface?.name ?? null, log: x.log,
      description: x.description,
    })),
  };
}

/** Groups rows by a key, keeping their order. */
function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/**
 * The whole farm in a fixed dozen flat queries (one per table, children
 * selected by their farm rather than by a list of parent ids), whatever its
 * size, joined up here. Callers wanting a consistent picture run it inside
 * one transaction.
 */
export async function loadFarmDetail(q: Tx, farmId: string): Promise<FarmDetail> {
  const farm = await q.farm.findUnique({
    where: { id: farmId },
    select: {
      id: true, name: true, description: true, revision: true, deployedRevision: true, createdAt: true, updatedAt: true, securityGroupMode: true,
    },
  });
  if (!farm) throw notFound('farm', 'id');
  const where = { farmId };
  const { host: _h1, vifs: _v, ...vmFlat } = vmSelect;
  const { host: _h2, interfaces: _i1, staticRoutes: _s, ...routerFlat } = routerSelect;
  const { host: _h3, interfaces: _i2, rules: _r, ...firewallFlat } = firewallSelect;
  const { interface: _ri, ...ruleFlat } = firewallRuleSelect;
  const vnets = await q.vnet.findMany({ where, select: vnetSelect, orderBy: created });
  const vms = await q.vm.findMany({ where, select: vmFlat, orderBy: created });
  const vifs = await q.vif.findMany({ where: { vm: where }, select: vifSelect });
  const routers = await q.router.findMany({ where, select: routerFlat, orderBy: created });
  const rifs = await q.routerInterface.findMany({ where: { router: where }, select: routerInterfaceSelect, orderBy: created });
  const routes = await q.staticRoute.findMany({ where: { router: where }, select: staticRouteSelect, orderBy: created });
  const links = await q.routerLink.findMany({ where, select: routerLinkSelect, orderBy: created });
  const firewalls = await q.firewall.findMany({ where, select: firewallFlat, orderBy: created });
  const fifs = await q.firewallInterface.findMany({ where: { firewall: where }, select: firewallInterfaceSelect, orderBy: created });
  const rules = await q.firewallRule.findMany({ where: { firewall: where }, select: ruleFlat, orderBy: ruleOrder });
  const legs = await q.externalLeg.findMany({ where, select: externalLegSelect, orderBy: created });
  const securityGroups = await loadSecurityGroups(q, farmId);
  const hostIds = [...new Set([...vms, ...routers, ...firewalls].flatMap((x) => (x.hostId ? [x.hostId] : [])))];
  const hosts = hostIds.length ? await q.host.findMany({ where: { id: { in: hostIds } }, select: { id: true, name: true } }) : [];

  const hostNames = new Map(hosts.map((h) => [h.id, h.name]));
  const hostOf = (id: string | null) => {
    const name = id === null ? undefined : hostNames.get(id);
    return name === undefined ? null : { name };
  };
  const vifsBy = groupBy(vifs, (v) => v.vmId);
  const rifsBy = groupBy(rifs, (i) => i.routerId);
  const routesBy = groupBy(routes, (r) => r.routerId);
  const fifsBy = groupBy(fifs, (i) => i.firewallId);
  const rulesBy = groupBy(rules, (r) => r.firewallId);
  const ifaceName = new Map(fifs.map((i) => [i.id, i.name]));
  return {
    ...farm,
    counts: { vnets: vnets.length, vms: vms.length, routers: routers.length, firewalls: firewalls.length },
    vnets: vnets.map(toVnetView),
    vms: vms.map((vm) => toVmView({ ...vm, host: hostOf(vm.hostId), vifs: vifsBy.get(vm.id) ?? [] })),
    routers: routers.map((r) =>
      toRouterView({ ...r, host: hostOf(r.hostId), interfaces: rifsBy.get(r.id) ?? [], staticRoutes: routesBy.get(r.id) ?? [] }),
    ),
    routerLinks: links.map(toRouterLinkView),
    externalLegs: legs.map(toExternalLegView),
    firewalls: firewalls.map((f) =>
      toFirewallView({
        ...f,
        host: hostOf(f.hostId),
        interfaces: fifsBy.get(f.id) ?? [],
        rules: (rulesBy.get(f.id) ?? []).map(({ firewallId: _f, ...r }) => ({
          ...r,
          interface: r.interfaceId === null ? null : { name: ifaceName.get(r.interfaceId)! },
        })),
      }),
    ),
    securityGroups,
  };
}

export const farmSummarySelect = {
  id: true, name: true, description: true, revision: true, deployedRevision: true, createdAt: true, updatedAt: true,
  _count: { select: { vnets: true, vms: true, routers: true, firewalls: true } },
} as const;

export function toFarmSummary(r: Omit<FarmSummary, 'counts'> & { _count: FarmSummary['counts'] }): FarmSummary {
  const { _count, ...rest } = r;
  return { ...rest, counts: { ..._count } };
}

/** Reads one farm's summary (after a write, inside the same transaction). */
export async function loadFarmSummary(q: Tx, farmId: string): Promise<FarmSummary> {
  const row = await q.farm.findUnique({ where: { id: farmId }, select: farmSummarySelect });
  if (!row) throw notFound('farm', 'id');
  return toFarmSummary(row);
}

/**
 * Blocks intent edits of the farm until the transaction ends (they all start
 * by updating the farm row), so a multi-query read sees one revision.
 */
export async function lockFarmForRead(tx: Tx, farmId: string): Promise<void> {
  await tx.$queryRawUnsafe('SELECT 1 AS locked FROM "Farm" WHERE id = $1::uuid FOR SHARE', farmId);
}

/**
 * Designer positions by node id (not intent: kept apart and never revisioned).
 * A position off the canvas (stored before coordinates were bounded) is left
 * out: the designer places that node again.
 */
export async function loadPositions(q: Tx, farmId: string): Promise<Record<string, Position>> {
  const row = await q.designerLayout.findUnique({ where: { farmId }, select: { positions: true } });
  const stored = row?.positions;
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return {};
  return Object.fromEntries(Object.entries(stored).filter((e): e is [string, Position] => isPosition(e[1])));
}
