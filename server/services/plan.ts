// Planning a deploy: what deploying a farm's current intent (or a stored
// revision) would change on each host, and which of its placements a deploy
// would refuse because the host declared it cannot run them
// (hostCapabilities.ts). Writes nothing; deploy.ts runs the same checks.
import type { Db } from '../db/index.ts';
import { badRequest, notFound } from '../errors.ts';
import { diffStates, type HostDiff, type HostState, type ItemDiff } from '../compile/index.ts';
import type { UserActor } from '../trpc/context-types.ts';
import type { PlanView } from './controlShapes.ts';
import { baselineHash, computeDesired } from './desiredState.ts';
import { requireFarm, type FarmRef, type Tx } from './farmAccess.ts';
import { farmDocumentSchema, toFarmDocument, type FarmDocument } from './farmDocument.ts';
import { loadFarmDetail, loadPositions } from './farmViews.ts';
import { checkDocumentPlacements, type GuestKind, type PlacementReport } from './hostCapabilities.ts';

/** Plans read many tables: one snapshot of the database for all of them. */
const READ_TX = { isolationLevel: 'RepeatableRead' as const, maxWait: 10_000, timeout: 60_000 };

export async function loadRevision(tx: Tx, farm: FarmRef, revision: number): Promise<FarmDocument> {
  const row = await tx.farmRevision.findUnique({
    where: { farmId_revision: { farmId: farm.id, revision } },
    select: { snapshot: true },
  });
  if (!row) throw notFound(`revision ${revision} of farm ${farm.name}`, 'revision');
  const r = farmDocumentSchema.safeParse(row.snapshot);
  if (!r.success) throw badRequest('revision', `revision ${revision} of farm ${farm.name} is not a valid farm document`);
  return r.data;
}

/** The farm's VMs as its current intent places them (host names), for the placement check. */
export async function intentVms(tx: Tx, farmId: string): Promise<{ name: string; host: string | null; guestKind: GuestKind }[]> {
  const rows = await tx.vm.findMany({ where: { farmId }, select: { name: true, guestKind: true, host: { select: { name: true } } } });
  return rows.map((r) => ({ name: r.name, host: r.host?.name ?? null, guestKind: r.guestKind }));
}

/**
 * Refuses a deploy whose placements a host declared it cannot run:
 * BAD_REQUEST on `field`, naming the first VM and host, every one in
 * `details.placements`.
 */
export function refuseBadPlacements(report: PlacementReport, field: string): void {
  const [first, ...more] = report.errors;
  if (!first) return;
  const also = more.length ? ` (and ${more.length} more placement${more.length === 1 ? '' : 's'})` : '';
  throw badRequest(field, `${first.message}${also}; nothing was deployed`, {
    placements: report.errors.map(({ vm, host, guestKind }) => ({ vm, host, guestKind })),
  });
}

/**
 * What deploying the farm's current intent (or `revision`) would change on
 * each host, against what the hosts have now. Writes nothing.
 */
export async function planFarm(o: { db: Db; actor: UserActor; id: string; revision?: number | undefined }): Promise<PlanView> {
  return o.db.$transaction(async (tx) => {
    const farm = await requireFarm(tx, o.actor, o.id, 'id');
    const revision = o.revision ?? farm.revision;
    const document =
      o.revision !== undefined
        ? await loadRevision(tx, farm, o.revision)
        : toFarmDocument(await loadFarmDetail(tx, farm.id), await loadPositions(tx, farm.id));
    const c = await computeDesired(tx, { override: { farmId: farm.id, revision, document } });
    const placements = await checkDocumentPlacements(tx, farm.name, document.vms);
    const before = new Map<string, HostState>();
    const after = new Map<string, HostState>();
    for (const h of c.hosts) {
      const cur = c.current.get(h.id);
      const next = c.next.get(h.id)!;
      if (cur) before.set(h.name, cur.state);
      // A host that has no stored state and would still run nothing is not part of the plan.
      if (cur || next.hash !== baselineHash(h)) after.set(h.name, next.state);
    }
    const diffs = diffStates(before, after);
    const keys = [c.keysNow.get(farm.id), c.keysNext.get(farm.id)].filter((k): k is string => k !== undefined);
    const hosts = diffs.filter((d) => d.kind !== 'unchanged').map((d) => onlyFarm(d, keys, before, after));
    return {
      farmId: farm.id,
      revision,
      deployedRevision: farm.deployedRevision,
      hosts,
      unchangedHosts: c.hosts.length - hosts.length,
      hostChecks: hostChecks(placements),
      errors: placements.errors.map((e) => e.message),
      warnings: [...c.warnings, ...placements.warnings.map((w) => w.message)],
    };
  }, READ_TX);
}

/** The placement report per host (by name), hosts with nothing to say left out. */
function hostChecks(r: PlacementReport): PlanView['hostChecks'] {
  const out = new Map<string, PlanView['hostChecks'][number]>();
  const entry = (host: string) => out.get(host) ?? out.set(host, { host, errors: [], warnings: [] }).get(host)!;
  for (const e of r.errors) entry(e.host).errors.push(e.message);
  for (const w of r.warnings) entry(w.host).warnings.push(w.message);
  return [...out.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

/**
 * A host's diff limited to this farm's items (under its key now and after
 * the deploy). Other farms on the host, other tenants' too, are not the
 * planner's business; their items show up in a raw diff only when their key
 * changes with this deploy (a name becoming shared across tenants).
 */
function onlyFarm(d: HostDiff, keys: string[], before: Map<string, HostState>, after: Map<string, HostState>): HostDiff {
  const mine = (id: string) => keys.some((k) => id.startsWith(`${k}/`));
  const vnetFarm = new Map<string, string>();
  for (const s of [before.get(d.host), after.get(d.host)]) for (const v of s?.vnets ?? []) vnetFarm.set(String(v.id), v.farm);
  const mineVnet = (id: string) => keys.includes(vnetFarm.get(id) ?? '');
  const only = (x: ItemDiff, keep: (id: string) => boolean): ItemDiff => ({
    added: x.added.filter(keep),
    changed: x.changed.filter(keep),
    removed: x.removed.filter(keep),
  });
  return { ...d, vifs: only(d.vifs, mine), vnets: only(d.vnets, mineVnet), routers: only(d.routers, mine), firewalls: only(d.firewalls, mine) };
}
