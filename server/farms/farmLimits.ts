// The per-farm limits of server/limits.ts, applied the same way on both kinds
// of path that add to a farm: a whole document (import, clone) is counted
// before anything is checked or written, and a single create or add counts
// what the farm holds now. The farm row is locked by bumpRevision before a
// count (every intent edit starts with it), so two edits of one farm cannot
// both squeeze in the last place.
import { badRequest, conflict } from '../errors.ts';
import { FARM_LIMIT_NOUNS, FARM_LIMITS, OBJECT_LIMITS, type FarmLimitKind } from '../limits.ts';
import type { Tx } from './farmAccess.ts';

/** "at most 4000 VMs in one farm (this one would have 10000)". */
export function overLimit(kind: FarmLimitKind, count: number): string {
  return `at most ${FARM_LIMITS[kind]} ${FARM_LIMIT_NOUNS[kind]} in one farm (this one would have ${count})`;
}

/** The lists of a farm document that limits count (farmDocument.ts builds its schema on this module's messages). */
interface DocumentCounts {
  vnets: { vlans?: unknown[] | undefined }[];
  vms: { vifs: unknown[] }[];
  routers: { interfaces: unknown[]; staticRoutes: unknown[] }[];
  routerLinks: unknown[];
  firewalls: { interfaces: unknown[]; rules: unknown[] }[];
  securityGroups?: { rules: unknown[] }[] | undefined;
}

/** Every count of a document, with the document field that holds it. */
function documentCounts(doc: DocumentCounts): [FarmLimitKind, number, string][] {
  const sum = <T>(list: T[], n: (x: T) => number) => list.reduce((a, x) => a + n(x), 0);
  return [
    ['vnets', doc.vnets.length, 'vnets'],
    ['vlans', sum(doc.vnets, (v) => v.vlans?.length ?? 0), 'vnets'],
    ['vms', doc.vms.length, 'vms'],
    ['vifs', sum(doc.vms, (v) => v.vifs.length), 'vms'],
    ['routers', doc.routers.length, 'routers'],
    ['routerInterfaces', sum(doc.routers, (r) => r.interfaces.length), 'routers'],
    ['staticRoutes', sum(doc.routers, (r) => r.staticRoutes.length), 'routers'],
    ['routerLinks', doc.routerLinks.length, 'routerLinks'],
    ['firewalls', doc.firewalls.length, 'firewalls'],
    ['firewallInterfaces', sum(doc.firewalls, (f) => f.interfaces.length), 'firewalls'],
    ['firewallRules', sum(doc.firewalls, (f) => f.rules.length), 'firewalls'],
    ['securityGroups', doc.securityGroups?.length ?? 0, 'securityGroups'],
    ['securityRules', sum(doc.securityGroups ?? [], (g) => g.rules.length), 'securityGroups'],
  ];
}

/** A document within every limit; otherwise BAD_REQUEST on the list past one. */
export function checkDocumentLimits(doc: DocumentCounts): void {
  for (const [kind, count, field] of documentCounts(doc)) {
    if (count > FARM_LIMITS[kind]) throw badRequest(field, overLimit(kind, count), { kind, limit: FARM_LIMITS[kind], count });
  }
}

const counters: Record<FarmLimitKind, (tx: Tx, farmId: string) => Promise<number>> = {
  vnets: (tx, farmId) => tx.vnet.count({ where: { farmId } }),
  vlans: (tx, farmId) => tx.vnetVlan.count({ where: { vnet: { farmId } } }),
  vms: (tx, farmId) => tx.vm.count({ where: { farmId } }),
  vifs: (tx, farmId) => tx.vif.count({ where: { vm: { farmId } } }),
  routers: (tx, farmId) => tx.router.count({ where: { farmId } }),
  routerInterfaces: (tx, farmId) => tx.routerInterface.count({ where: { router: { farmId } } }),
  staticRoutes: (tx, farmId) => tx.staticRoute.count({ where: { router: { farmId } } }),
  routerLinks: (tx, farmId) => tx.routerLink.count({ where: { farmId } }),
  firewalls: (tx, farmId) => tx.firewall.count({ where: { farmId } }),
  firewallInterfaces: (tx, farmId) => tx.firewallInterface.count({ where: { firewall: { farmId } } }),
  firewallRules: (tx, farmId) => tx.firewallRule.count({ where: { firewall: { farmId } } }),
  securityGroups: (tx, farmId) => tx.securityGroup.count({ where: { farmId } }),
  securityRules: (tx, farmId) => tx.securityRule.count({ where: { group: { farmId } } }),
};

/**
 * The farm has room for `adding` more of `kind` (`replacing` of them go at
 * the same time, as when a firewall's rules are replaced); otherwise
 * CONFLICT on `field`, the input that would add them. Call after
 * bumpRevision, which holds the farm row until the transaction ends.
 */
export async function requireRoom(
  tx: Tx,
  farmId: string,
  kind: FarmLimitKind,
  adding: number,
  field: string,
  replacing = 0,
): Promise<void> {
  if (adding <= replacing) return;
  const count = (await counters[kind](tx, farmId)) - replacing;
  const limit = FARM_LIMITS[kind];
  if (count + adding <= limit) return;
  const farm = await tx.farm.findUnique({ where: { id: farmId }, select: { name: true } });
  const noun = FARM_LIMIT_NOUNS[kind];
  const has = `farm ${farm?.name ?? farmId}`;
  const message =
    count >= limit
      ? `${has} already has ${count} ${noun}, the most one farm may hold`
      : `${has} has ${count} ${noun}; ${adding} more would pass ${limit}, the most one farm may hold`;
  throw conflict(field, message, { kind, limit, count });
}

/**
 * `object` (e.g. "VM web", "router r1") holding `count` of what OBJECT_LIMITS
 * bounds by `kind` has room for one more; otherwise CONFLICT on `field`, the
 * input that would add it.
 */
export function requireObjectRoom(kind: keyof typeof OBJECT_LIMITS, object: string, count: number, noun: string, field: string): void {
  const limit = OBJECT_LIMITS[kind];
  if (count < limit) return;
  throw conflict(field, `${object} already has ${count} ${noun}, the most one may hold`, { kind, limit, count });
}
