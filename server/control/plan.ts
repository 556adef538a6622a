// Planning a deploy: what deploying a farm's current intent (or a stored
// revision) would change on each host, and which of its placements a deploy
// would refuse because the host declared it cannot run them
// (farms/placements.ts). Writes nothing; deploy.ts runs the same checks.
import type { Db } from '../db/index.ts';
import { badRequest, notFound } from '../errors.ts';
import { diffStates, type HostState } from '../compile/index.ts';
import type { UserActor } from '../auth/actors.ts';
import type { PlanView } from './controlShapes.ts';
import { baselineHash, computeDesired } from './desiredState.ts';
import { requireFarm, type FarmRef, type Tx } from '../farms/farmAccess.ts';
import { farmDocumentSchema, type FarmDocument } from '../farms/farmDocument.ts';
import { snapshotDocument } from './revisions.ts';
import { checkDocumentPlacements, type GuestKind, type PlacementReport } from '../farms/placements.ts';

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
        : await snapshotDocument(tx, farm.id);
    const placements = await checkDocumentPlacements(tx, farm.name, document.vms);
    const { hosts, unchangedHosts, warnings } = await planHosts(tx, farm.id, revision, document);
    return {
      farmId: farm.id,
      revision,
      deployedRevision: farm.deployedRevision,
      hosts,
      unchangedHosts,
      hostChecks: hostChecks(placements),
      errors: placements.errors.map((e) => e.message),
      warnings: [...warnings, ...placements.warnings.map((w) => w.message)],
    };
  }, READ_TX);
}

/**
 * What deploying `document` as farm `farmId`'s revision `revision` would
 * change on each host (only hosts that change; this farm's items per host).
 */
export async function planHosts(tx: Tx, farmId: string, revision: number, document: FarmDocument) {
  const c = await computeDesired(tx, { override: { farmId, revision, document } });
  const before = new Map<string, HostState>();
  const after = new Map<string, HostState>();
  // Only the hosts the farm can change are decided; the others stay as they are.
  for (const h of c.hosts) {
    const next = c.next.get(h.id);
    if (!next) continue;
    const cur = c.current.get(h.id);
    if (cur) before.set(h.name, cur.state);
    // A host that has no stored state and would still run nothing is not part of the plan.
    if (cur || next.hash !== baselineHash(h)) after.set(h.name, next.state);
  }
  const mine = new Map(diffStates(onlyFarm(before, farmId), onlyFarm(after, farmId)).map((d) => [d.host, d]));
  const hosts = diffStates(before, after)
    .filter((d) => d.kind !== 'unchanged')
    .map((d) => {
      const m = mine.get(d.host)!;
      return { ...d, vifs: m.vifs, vnets: m.vnets, routers: m.routers, firewalls: m.firewalls };
    });
  return { hosts, unchangedHosts: c.hosts.length - hosts.length, warnings: c.warnings };
}

/** The placement report per host (by name), hosts with nothing to say left out. */
export function hostChecks(r: PlacementReport): PlanView['hostChecks'] {
  const out = new Map<string, PlanView['hostChecks'][number]>();
  const entry = (host: string) => out.get(host) ?? out.set(host, { host, errors: [], warnings: [] }).get(host)!;
  for (const e of r.errors) entry(e.host).errors.push(e.message);
  for (const w of r.warnings) entry(w.host).warnings.push(w.message);
  return [...out.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

/**
 * Every host's state with only this farm's items (the entries whose `farm`
 * is its id). Other farms on a host, other tenants' too, are not the
 * planner's business, and this deploy never changes them.
 */
function onlyFarm(states: Map<string, HostState>, farmId: string): Map<string, HostState> {
  const mine = <T extends { farm: string }>(xs: T[]) => xs.filter((x) => x.farm === farmId);
  return new Map(
    [...states].map(([h, s]) => [h, { ...s, vnets: mine(s.vnets), vifs: mine(s.vifs), routers: mine(s.routers), firewalls: mine(s.firewalls) }]),
  );
}
