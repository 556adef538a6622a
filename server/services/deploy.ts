// Deploying farms: plan (what would change on each host, nothing written),
// deploy a revision, undeploy, and migrate a VM. Each of these runs in one
// transaction under the control-loop lock: the revision snapshot, the
// farm's deployed revision, the new host generations, the deployment record,
// the audit entry and the notifications commit together or not at all.
// With `wait`, the call then follows the agents' reports until every target
// host applied its generation, or the timeout passes (reported, not thrown).
import type { Db } from '../db/index.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { diffStates, type HostDiff, type HostState, type ItemDiff } from '../compile/index.ts';
import { publish } from '../events/index.ts';
import type { UserActor } from '../trpc/context-types.ts';
import { writeAudit } from './audit.ts';
import type { DeployResult, PlanView } from './controlShapes.ts';
import { baselineHash, computeDesired, CONTROL_TX, lockControlLoop, recomputeDesired, type ChangedHost } from './desiredState.ts';
import { deploymentSelect, progressOf, toDeploymentView, waitForDeployment } from './deployments.ts';
import { bumpRevision, requireFarm, resolveHost, type FarmRef, type Tx } from './farmAccess.ts';
import { farmDocumentSchema, toFarmDocument, type FarmDocument } from './farmDocument.ts';
import type { VmView } from './farmShapes.ts';
import { loadFarmDetail, loadPositions, toVmView, vmSelect } from './farmViews.ts';
import { snapshotFarm } from './revisions.ts';
import { requireVm } from './vms.ts';

export { deploymentProgress, listDeployments, waitForDeployment, watchDeployment } from './deployments.ts';

interface WaitOptions {
  wait?: boolean | undefined;
  /** Default 30 000. */
  timeoutMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Plans read many tables: one snapshot of the database for all of them. */
const READ_TX = { isolationLevel: 'RepeatableRead' as const, maxWait: 10_000, timeout: 60_000 };

async function loadRevision(tx: Tx, farm: FarmRef, revision: number): Promise<FarmDocument> {
  const row = await tx.farmRevision.findUnique({
    where: { farmId_revision: { farmId: farm.id, revision } },
    select: { snapshot: true },
  });
  if (!row) throw notFound(`revision ${revision} of farm ${farm.name}`, 'revision');
  const r = farmDocumentSchema.safeParse(row.snapshot);
  if (!r.success) throw badRequest('revision', `revision ${revision} of farm ${farm.name} is not a valid farm document`);
  return r.data;
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
      warnings: c.warnings,
    };
  }, READ_TX);
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

/** Records the deployment of a recompute (inside its transaction). */
async function recordDeployment(
  tx: Tx,
  o: { farmId: string; kind: 'deploy' | 'undeploy' | 'migrate'; revision: number | null; changed: ChangedHost[]; actor: UserActor },
) {
  const row = await tx.deployment.create({
    data: {
      farmId: o.farmId,
      kind: o.kind,
      revision: o.revision,
      targets: o.changed.map((c) => ({ hostId: c.hostId, host: c.host, generation: c.generation })),
      createdById: o.actor.userId,
      // Nothing to apply anywhere: done as soon as it exists.
      completedAt: o.changed.length === 0 ? new Date() : null,
    },
    select: deploymentSelect,
  });
  return toDeploymentView(row);
}

async function finish(
  o: { db: Db; actor: UserActor } & WaitOptions,
  deployment: ReturnType<typeof toDeploymentView>,
  warnings: string[],
): Promise<DeployResult> {
  if (o.wait) {
    const r = await waitForDeployment({ db: o.db, actor: o.actor, id: deployment.id, timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    return { deployment: { ...deployment, completedAt: r.progress.completedAt }, progress: r.progress, waited: true, timedOut: r.timedOut, missing: r.missing, warnings };
  }
  const progress = await progressOf(o.db, deployment);
  const missing = progress.hosts.filter((h) => !h.applied).map((h) => h.host);
  return { deployment: { ...deployment, completedAt: progress.completedAt }, progress, waited: false, timedOut: false, missing, warnings };
}

/**
 * Deploys the farm's current intent (snapshotted as a revision, or the
 * existing snapshot of that revision) or an earlier `revision`. Hosts whose
 * state does not change get no new generation; deploying an unchanged farm
 * changes nothing and completes at once.
 */
export async function deployFarm(
  o: { db: Db; actor: UserActor; id: string; revision?: number | undefined; expectedRevision?: number | undefined } & WaitOptions,
): Promise<DeployResult> {
  const { deployment, warnings } = await o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    const farm = await requireFarm(tx, o.actor, o.id, 'id');
    let revision: number;
    if (o.revision !== undefined) {
      await loadRevision(tx, farm, o.revision);
      revision = o.revision;
    } else {
      if (o.expectedRevision !== undefined && o.expectedRevision !== farm.revision) {
        throw conflict(
          'expectedRevision',
          `the farm changed since revision ${o.expectedRevision} (it is now at ${farm.revision}); reload and retry`,
          { revision: farm.revision },
        );
      }
      revision = (await snapshotFarm(tx, farm.id, o.actor.userId)).revision.revision;
    }
    await tx.farm.update({ where: { id: farm.id }, data: { deployedRevision: revision }, select: { id: true } });
    const { changed, warnings } = await recomputeDesired(tx);
    const deployment = await recordDeployment(tx, { farmId: farm.id, kind: 'deploy', revision, changed, actor: o.actor });
    await writeAudit(tx, {
      actor: o.actor,
      action: 'farm.deploy',
      entity: 'farm',
      entityId: farm.id,
      before: { deployedRevision: farm.deployedRevision },
      after: { deployedRevision: revision, deploymentId: deployment.id, hosts: changed.map((c) => c.host) },
    });
    await publish(tx, { type: 'farm.deployed', farmId: farm.id, tenantId: farm.tenantId, revision });
    return { deployment, warnings };
  }, CONTROL_TX);
  return finish(o, deployment, warnings);
}

/** Takes the farm off every host (its hosts get states without it). */
export async function undeployFarm(o: { db: Db; actor: UserActor; id: string } & WaitOptions): Promise<DeployResult> {
  const { deployment, warnings } = await o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    const farm = await requireFarm(tx, o.actor, o.id, 'id');
    if (farm.deployedRevision === null) throw conflict('id', `farm ${farm.name} is not deployed`);
    await tx.farm.update({ where: { id: farm.id }, data: { deployedRevision: null }, select: { id: true } });
    const { changed, warnings } = await recomputeDesired(tx);
    const deployment = await recordDeployment(tx, { farmId: farm.id, kind: 'undeploy', revision: farm.deployedRevision, changed, actor: o.actor });
    await writeAudit(tx, {
      actor: o.actor,
      action: 'farm.undeploy',
      entity: 'farm',
      entityId: farm.id,
      before: { deployedRevision: farm.deployedRevision },
      after: { deployedRevision: null, deploymentId: deployment.id, hosts: changed.map((c) => c.host) },
    });
    await publish(tx, { type: 'farm.deployed', farmId: farm.id, tenantId: farm.tenantId, revision: null });
    return { deployment, warnings };
  }, CONTROL_TX);
  return finish(o, deployment, warnings);
}

export interface MigrateResult extends Omit<DeployResult, 'deployment' | 'progress'> {
  farmRevision: number;
  vm: VmView;
  /** Null when the farm is not deployed: only the intent changed. */
  deployment: DeployResult['deployment'] | null;
  progress: DeployResult['progress'] | null;
}

/**
 * Moves a VM to another host: a placement edit (with a new location
 * version, which VARP uses to prefer the new location) and, when the farm
 * is deployed, a deploy of the farm's resulting intent.
 */
export async function migrateVm(
  o: { db: Db; actor: UserActor; id: string; hostId: string; expectedRevision: number } & WaitOptions,
): Promise<MigrateResult> {
  const out = await o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    const { farm: farmRef, ...current } = await requireVm(tx, o.actor, o.id);
    const farm = await requireFarm(tx, o.actor, farmRef.id, 'id');
    const farmRevision = await bumpRevision(tx, farm, o.expectedRevision);
    const hostId = (await resolveHost(tx, o.hostId, 'hostId'))!;
    if (hostId === current.hostId) throw badRequest('hostId', `VM ${current.name} is already on host ${current.host?.name ?? hostId}`);
    const row = await tx.vm.update({
      where: { id: o.id },
      data: { hostId, locationVersion: { increment: 1 } },
      select: vmSelect,
    });
    const vm = toVmView(row);
    let deployment: ReturnType<typeof toDeploymentView> | null = null;
    let warnings: string[] = [];
    if (farm.deployedRevision !== null) {
      const revision = (await snapshotFarm(tx, farm.id, o.actor.userId)).revision.revision;
      await tx.farm.update({ where: { id: farm.id }, data: { deployedRevision: revision }, select: { id: true } });
      const r = await recomputeDesired(tx);
      warnings = r.warnings;
      deployment = await recordDeployment(tx, { farmId: farm.id, kind: 'migrate', revision, changed: r.changed, actor: o.actor });
      await publish(tx, { type: 'farm.deployed', farmId: farm.id, tenantId: farm.tenantId, revision });
    }
    await writeAudit(tx, {
      actor: o.actor,
      action: 'vm.migrate',
      entity: 'vm',
      entityId: vm.id,
      before: toVmView(current),
      after: { ...vm, deploymentId: deployment?.id ?? null, hosts: deployment?.targets.map((t) => t.host) ?? [] },
    });
    return { farmRevision, vm, deployment, warnings };
  }, CONTROL_TX);
  if (!out.deployment) {
    return { farmRevision: out.farmRevision, vm: out.vm, deployment: null, progress: null, waited: false, timedOut: false, missing: [], warnings: out.warnings };
  }
  const r = await finish(o, out.deployment, out.warnings);
  return { ...r, farmRevision: out.farmRevision, vm: out.vm };
}
