// Deploying farms: deploy a revision, undeploy, and migrate a VM (planning,
// which writes nothing, is plan.ts). Each of these runs in one
// transaction under the control-loop lock: the revision snapshot, the
// farm's deployed revision, the new host generations, the deployment record,
// the audit entry and the notifications commit together or not at all.
// With `wait`, the call then follows the agents' reports until every target
// host applied its generation, or the timeout passes (reported, not thrown).
import type { Db } from '../db/index.ts';
import { badRequest, conflict } from '../errors.ts';
import { publish } from '../events/index.ts';
import type { UserActor } from '../auth/actors.ts';
import { writeAudit } from '../audit/audit.ts';
import type { DeployResult } from './controlShapes.ts';
import { CONTROL_TX, lockControlLoop, recomputeDesired, type ChangedHost } from './desiredState.ts';
import { deploymentSelect, progressOf, recordTargets, toDeploymentView, waitForDeployment } from './deployments.ts';
import { editFarm } from '../farms/farmEdit.ts';
import { bumpRevision, requireFarm, resolveHost, type FarmRef, type Tx } from '../farms/farmAccess.ts';
import type { VmView } from '../farms/farmShapes.ts';
import { lockFarmForRead, toVmView, vmSelect } from '../farms/farmViews.ts';
import { checkDocumentPlacements, requireHostRunsGuest, type GuestKind } from '../farms/placements.ts';
import { intentVms, loadRevision, refuseBadPlacements } from './plan.ts';
import { snapshotFarm } from './revisions.ts';
import { requireVm } from '../farms/vms.ts';
import { refuseVnidsDeployedElsewhere } from '../farms/vnidHolds.ts';

export { deploymentProgress, listDeployments, waitForDeployment, watchDeployment } from './deployments.ts';
export { planFarm } from './plan.ts';

export interface WaitOptions {
  wait?: boolean | undefined;
  /** Default 30 000. */
  timeoutMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Refused while a VM is in a live migration (server/control/liveMigration.ts): a plain move, a second live move. */
export function refuseWhileMoving(vm: { name: string; migratingToHostId: string | null }, field = 'id'): void {
  if (vm.migratingToHostId !== null) {
    throw conflict(field, `VM ${vm.name} is being live-migrated (to host ${vm.migratingToHostId}); let the move finish or cancel it first (vm.cancelMigration)`);
  }
}

/**
 * Optimistic concurrency for deploy and undeploy: the farm's intent must
 * still be at the revision the caller saw, whichever revision is deployed.
 * The farm row stays share-locked until the transaction ends, so no edit can
 * slip in between this check and the snapshot.
 */
export async function requireIntentAt(tx: Tx, farm: FarmRef, expectedRevision: number | undefined): Promise<void> {
  if (expectedRevision === undefined) return;
  await lockFarmForRead(tx, farm.id);
  const now = await tx.farm.findUnique({ where: { id: farm.id }, select: { revision: true } });
  const revision = now?.revision ?? farm.revision;
  if (revision !== expectedRevision) {
    throw conflict(
      'expectedRevision',
      `the farm changed since revision ${expectedRevision} (it is now at ${revision}); reload and retry`,
      { revision },
    );
  }
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
      missing: o.changed.length,
    },
    select: deploymentSelect,
  });
  await recordTargets(tx, row.id, o.changed);
  return toDeploymentView(row);
}

/**
 * Makes `revision` (null: none) the farm's deployed one, recomputes the hosts
 * the farm reaches, records the deployment and announces it; a deploy or
 * undeploy is audited here (a migration is audited as the VM edit it is).
 */
export async function runRevision(
  tx: Tx,
  o: { actor: UserActor; farm: FarmRef; kind: 'deploy' | 'undeploy' | 'migrate'; revision: number | null },
) {
  const { farm } = o;
  // One vnet id is one farm's network: never deploy an id another farm still runs.
  if (o.revision !== null) await refuseVnidsDeployedElsewhere(tx, farm.id, o.revision, 'id');
  await tx.farm.update({ where: { id: farm.id }, data: { deployedRevision: o.revision }, select: { id: true } });
  const { changed, warnings } = await recomputeDesired(tx, { farmId: farm.id });
  const recorded = o.revision ?? farm.deployedRevision;
  const deployment = await recordDeployment(tx, { farmId: farm.id, kind: o.kind, revision: recorded, changed, actor: o.actor });
  if (o.kind !== 'migrate') {
    await writeAudit(tx, {
      actor: o.actor,
      action: `farm.${o.kind}`,
      entity: 'farm',
      entityId: farm.id,
      before: { deployedRevision: farm.deployedRevision },
      after: { deployedRevision: o.revision, deploymentId: deployment.id, hosts: changed.map((c) => c.host) },
    });
  }
  await publish(tx, { type: 'farm.deployed', farmId: farm.id, tenantId: farm.tenantId, revision: o.revision });
  return { deployment, warnings };
}

export async function finishDeployment(
  o: { db: Db; actor: UserActor } & WaitOptions,
  deployment: ReturnType<typeof toDeploymentView>,
  warnings: string[],
): Promise<DeployResult> {
  if (o.wait) {
    const r = await waitForDeployment({ db: o.db, actor: o.actor, id: deployment.id, timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    return { deployment: { ...deployment, completedAt: r.progress.completedAt }, progress: r.progress, waited: true, timedOut: r.timedOut, missing: r.missing, warnings };
  }
  const progress = await progressOf(o.db, deployment, o.actor);
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
    // Honoured with a stored revision too: a rollback decided on a stale view of the farm is refused, not deployed.
    await requireIntentAt(tx, farm, o.expectedRevision);
    let revision: number;
    let vms: { name: string; host: string | null; guestKind: GuestKind }[];
    if (o.revision !== undefined) {
      vms = (await loadRevision(tx, farm, o.revision)).vms;
      revision = o.revision;
    } else {
      revision = (await snapshotFarm(tx, farm.id, o.actor.userId)).revision.revision;
      vms = await intentVms(tx, farm.id);
    }
    // Hosts declare what they run; a placement one of them no longer runs is refused here, whatever the plan said.
    const placements = await checkDocumentPlacements(tx, farm.name, vms);
    refuseBadPlacements(placements, o.revision !== undefined ? 'revision' : 'id');
    const { deployment, warnings } = await runRevision(tx, { actor: o.actor, farm, kind: 'deploy', revision });
    warnings.push(...placements.warnings.map((w) => w.message));
    return { deployment, warnings };
  }, CONTROL_TX);
  return finishDeployment(o, deployment, warnings);
}

/**
 * Takes the farm off every host (its hosts get states without it). Never
 * refused for placements: taking guests off a host is always possible.
 */
export async function undeployFarm(
  o: { db: Db; actor: UserActor; id: string; expectedRevision?: number | undefined } & WaitOptions,
): Promise<DeployResult> {
  const { deployment, warnings } = await o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    const farm = await requireFarm(tx, o.actor, o.id, 'id');
    await requireIntentAt(tx, farm, o.expectedRevision);
    if (farm.deployedRevision === null) throw conflict('id', `farm ${farm.name} is not deployed`);
    const { deployment, warnings } = await runRevision(tx, { actor: o.actor, farm, kind: 'undeploy', revision: null });
    return { deployment, warnings };
  }, CONTROL_TX);
  return finishDeployment(o, deployment, warnings);
}

export interface MigrateResult extends Omit<DeployResult, 'deployment' | 'progress'> {
  farmRevision: number;
  vm: VmView;
  /** Null when the farm is not deployed: only the intent changed. */
  deployment: DeployResult['deployment'] | null;
  progress: DeployResult['progress'] | null;
}

/**
 * The end of a live migration of a farm whose intent has edits not deployed
 * (its deployed revision is older than the intent before this edit): the
 * deployed document with the VM on `hostId`, stored as the revision the
 * edit took the intent to, and the intent taken one revision further (it
 * keeps its other edits, still not deployed). Null when the intent before
 * the edit was the deployed revision (its snapshot is the deployed document
 * plus the move) or the deployed document no longer has the VM.
 */
async function deployedWithMove(
  tx: Tx,
  o: { farm: FarmRef; vmId: string; vmName: string; hostId: string; intentRevision: number; by: string },
): Promise<{ revision: number; intentRevision: number; vms: { name: string; host: string | null; guestKind: GuestKind }[] } | null> {
  const { farm } = o;
  if (farm.deployedRevision === null || farm.deployedRevision === o.intentRevision - 1) return null;
  const doc = await loadRevision(tx, farm, farm.deployedRevision);
  const at = doc.vms.findIndex((v) => (v.id ?? null) === o.vmId || (v.id === undefined && v.name === o.vmName));
  if (at < 0) return null;
  const host = await tx.host.findUnique({ where: { id: o.hostId }, select: { name: true } });
  if (!host) return null;
  const snapshot = { ...doc, vms: doc.vms.map((v, i) => (i === at ? { ...v, host: host.name } : v)) };
  await tx.farmRevision.create({ data: { farmId: farm.id, revision: o.intentRevision, snapshot, createdById: o.by }, select: { id: true } });
  const intentRevision = await bumpRevision(tx, farm, o.intentRevision);
  return { revision: o.intentRevision, intentRevision, vms: snapshot.vms.map((v) => ({ name: v.name, host: v.host ?? null, guestKind: v.guestKind })) };
}

/**
 * Moves a VM to another host: a placement edit (with a new location
 * version, which VARP uses to prefer the new location) and, when the farm
 * is deployed, a deploy of the farm's resulting intent. With `finishing`,
 * the end of a live migration to `hostId` (server/control/liveMigration.ts):
 * its location version was counted up as it started, and what is deployed
 * is the deployed revision with the move (deployedWithMove), not edits of
 * the intent that were not deployed.
 */
export async function migrateVm(
  o: { db: Db; actor: UserActor; id: string; hostId: string; expectedRevision: number; finishing?: boolean } & WaitOptions,
): Promise<MigrateResult> {
  const out = await editFarm(o, async ({ tx, bump }) => {
    await lockControlLoop(tx);
    const { farm: farmRef, ...current } = await requireVm(tx, o.actor, o.id);
    const farm = await requireFarm(tx, o.actor, farmRef.id, 'id');
    let revision = await bump(farm);
    const hostId = (await resolveHost(tx, o.hostId, 'hostId'))!;
    if (hostId === current.hostId) throw badRequest('hostId', `VM ${current.name} is already on host ${current.host?.name ?? hostId}`);
    if (o.finishing) {
      if (current.migratingToHostId !== hostId) throw conflict('id', `VM ${current.name} is not being live-migrated to that host`);
    } else {
      refuseWhileMoving(current);
    }
    await requireHostRunsGuest(tx, hostId, current.guestKind, 'hostId');
    const row = await tx.vm.update({
      where: { id: o.id },
      data: o.finishing
        ? {
          hostId, migratingToHostId: null, migrationById: null, migrationStartedAt: null,
          migrationError: null, migrationErrorAt: null, migrationRetryAt: null, migrationFailures: 0,
        }
        : { hostId, locationVersion: { increment: 1 } },
      select: vmSelect,
    });
    const vm = toVmView(row);
    let deployment: ReturnType<typeof toDeploymentView> | null = null;
    let warnings: string[] = [];
    if (farm.deployedRevision !== null) {
      const moved = o.finishing ? await deployedWithMove(tx, { farm, vmId: o.id, vmName: current.name, hostId, intentRevision: revision, by: o.actor.userId }) : null;
      const snapshot = moved ?? (await snapshotFarm(tx, farm.id, o.actor.userId)).revision;
      const r = await runRevision(tx, { actor: o.actor, farm, kind: 'migrate', revision: snapshot.revision });
      if (moved) revision = moved.intentRevision;
      // Other VMs of the farm on hosts that cannot run them are reported, not refused: a migration is how they get fixed.
      const placements = await checkDocumentPlacements(tx, farm.name, moved?.vms ?? await intentVms(tx, farm.id));
      warnings = [...r.warnings, ...placements.errors.map((e) => e.message), ...placements.warnings.map((w) => w.message)];
      deployment = r.deployment;
    }
    return {
      result: { vm, deployment, warnings, farmRevision: revision },
      audit: {
        action: o.finishing ? 'vm.migrate.finish' : 'vm.migrate',
        entity: 'vm',
        entityId: vm.id,
        before: toVmView(current),
        after: { ...vm, deploymentId: deployment?.id ?? null, hosts: deployment?.targets.map((t) => t.host) ?? [] },
      },
    };
  }, CONTROL_TX);
  if (!out.deployment) {
    return { farmRevision: out.farmRevision, vm: out.vm, deployment: null, progress: null, waited: false, timedOut: false, missing: [], warnings: out.warnings };
  }
  const r = await finishDeployment(o, out.deployment, out.warnings);
  return { ...r, farmRevision: out.farmRevision, vm: out.vm };
}
