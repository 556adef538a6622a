// Live migration of a TAP VM, driven by the console (docs/operations.md
// "Live migration of a VM"). Three steps:
// - start (vm.migrate with live: true): the VM keeps its host and gets a
//   pending destination; the farm's hosts are recomputed, so the source keeps
//   the VIFs and the destination gets the same VIFs `incoming` with the next
//   location version (server/control/desiredInput.ts). Nothing else changes.
// - finish: when the destination's agent reports one of those VIFs
//   `migration.state = 'active'` (the guest's first frame there, QEMU's RARP
//   as the VM resumes), the VM's host becomes the destination and the farm is
//   deployed as a plain migration does (the source drops the VIFs, the
//   destination lists them plainly), in the name of who started it.
// - cancel (vm.cancelMigration): the pending destination is cleared and the
//   destination's incoming VIFs dropped.
import type { Db } from '../db/index.ts';
import { badRequest, conflict } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import type { Report } from '../../contract/report.ts';
import { writeAudit } from '../audit/audit.ts';
import { requireFarm, resolveHost, type Tx } from '../farms/farmAccess.ts';
import { toVmView, vmSelect } from '../farms/farmViews.ts';
import { requireHostRunsGuest } from '../farms/placements.ts';
import { requireVm } from '../farms/vms.ts';
import { CONTROL_TX, lockControlLoop } from './desiredState.ts';
import {
  finishDeployment, migrateVm, refuseWhileMoving, requireIntentAt, runRevision, type MigrateResult, type WaitOptions,
} from './deploy.ts';

type VmRow = Awaited<ReturnType<typeof requireVm>>;

/** Redeploys the farm's deployed revision (the intent is unchanged) and records it as a migration. */
async function redeploy(tx: Tx, actor: UserActor, vm: VmRow) {
  const farm = await requireFarm(tx, actor, vm.farm.id, 'id');
  return runRevision(tx, { actor, farm, kind: 'migrate', revision: farm.deployedRevision });
}

/** vm.migrate with live: true. */
export async function startLiveMigration(
  o: { db: Db; actor: UserActor; id: string; hostId: string; expectedRevision: number } & WaitOptions,
): Promise<MigrateResult> {
  const out = await o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    const current = await requireVm(tx, o.actor, o.id);
    const farm = await requireFarm(tx, o.actor, current.farm.id, 'id');
    await requireIntentAt(tx, farm, o.expectedRevision);
    refuseWhileMoving(current);
    if (current.guestKind !== 'tap') {
      throw badRequest('live', `VM ${current.name} is an emulated guest: only a TAP VM (guestKind tap) is live-migrated by its hypervisor; move it with live: false`);
    }
    if (current.hostId === null) throw badRequest('live', `VM ${current.name} is on no host: there is nothing running to live-migrate; place it with live: false`);
    if (farm.deployedRevision === null) {
      throw badRequest('live', `farm ${farm.name} is not deployed: nothing runs to live-migrate; move the VM with live: false`);
    }
    const hostId = (await resolveHost(tx, o.hostId, 'hostId'))!;
    if (hostId === current.hostId) throw badRequest('hostId', `VM ${current.name} is already on host ${current.host?.name ?? hostId}`);
    const dest = await tx.host.findUnique({ where: { id: hostId }, select: { name: true, status: true } });
    if (dest?.status === 'pending') throw badRequest('hostId', `host ${dest.name} has not enrolled: no agent runs there to receive the VM`);
    await requireHostRunsGuest(tx, hostId, current.guestKind, 'hostId');
    // One version up: the source keeps its version, the destination gets the next one (nextLocation).
    const row = await tx.vm.update({
      where: { id: o.id },
      data: { migratingToHostId: hostId, migrationById: o.actor.userId, migrationStartedAt: new Date(), locationVersion: { increment: 1 } },
      select: vmSelect,
    });
    const { deployment, warnings } = await redeploy(tx, o.actor, current);
    const vm = toVmView(row);
    await writeAudit(tx, {
      actor: o.actor, action: 'vm.migrate', entity: 'vm', entityId: vm.id,
      before: toVmView(current), after: { ...vm, live: true, deploymentId: deployment.id, hosts: deployment.targets.map((t) => t.host) },
    });
    return { vm, deployment, warnings, farmRevision: farm.revision };
  }, CONTROL_TX);
  const r = await finishDeployment(o, out.deployment, out.warnings);
  return { ...r, farmRevision: out.farmRevision, vm: out.vm };
}

/** vm.cancelMigration: the VM stays where it is; the destination drops its incoming VIFs. */
export async function cancelLiveMigration(o: { db: Db; actor: UserActor; id: string } & WaitOptions): Promise<MigrateResult> {
  const out = await o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    const current = await requireVm(tx, o.actor, o.id);
    if (current.migratingToHostId === null) throw conflict('id', `VM ${current.name} is not being live-migrated`);
    const row = await tx.vm.update({
      where: { id: o.id },
      data: { migratingToHostId: null, migrationById: null, migrationStartedAt: null },
      select: vmSelect,
    });
    const farm = await requireFarm(tx, o.actor, current.farm.id, 'id');
    const r = farm.deployedRevision === null ? null : await redeploy(tx, o.actor, current);
    const vm = toVmView(row);
    await writeAudit(tx, {
      actor: o.actor, action: 'vm.cancelMigration', entity: 'vm', entityId: vm.id,
      before: toVmView(current), after: { ...vm, deploymentId: r?.deployment.id ?? null },
    });
    return { vm, deployment: r?.deployment ?? null, warnings: r?.warnings ?? [], farmRevision: farm.revision };
  }, CONTROL_TX);
  if (!out.deployment) return { farmRevision: out.farmRevision, vm: out.vm, deployment: null, progress: null, waited: false, timedOut: false, missing: [], warnings: out.warnings };
  const r = await finishDeployment(o, out.deployment, out.warnings);
  return { ...r, farmRevision: out.farmRevision, vm: out.vm };
}

/** The ids of the VIFs a report says became active by live migration. */
export function activatedVifs(report: Report): string[] {
  return (report.vifs ?? []).flatMap((v) => (v.migration?.state === 'active' ? [v.id] : []));
}

/**
 * Called with each stored report of host `hostId` that has a VIF active by
 * live migration: finishes the moves to this host whose VIFs it reports
 * active. Never throws (a report is stored whatever happens here): a move
 * that could not be finished is tried again on the next report.
 */
export async function finishLiveMoves(db: Db, hostId: string, vifIds: string[]): Promise<void> {
  if (!vifIds.length) return;
  try {
    const moving = await db.vm.findMany({
      where: { migratingToHostId: hostId, vifs: { some: { id: { in: vifIds } } } },
      select: { id: true, farm: { select: { revision: true } }, migrationById: true },
    });
    for (const vm of moving) await finishOne(db, hostId, vm);
  } catch {
    // Retried on the next report with the VIF active (agents report every few seconds).
  }
}

/** The same for the host holding the credential that hashes to `credentialHash` (the lean report path). */
export async function finishLiveMovesByCredential(db: Db, credentialHash: string, vifIds: string[]): Promise<void> {
  if (!vifIds.length) return;
  const host = await db.host.findUnique({ where: { credentialHash }, select: { id: true } }).catch(() => null);
  if (host) await finishLiveMoves(db, host.id, vifIds);
}

async function finishOne(db: Db, hostId: string, vm: { id: string; farm: { revision: number }; migrationById: string | null }): Promise<void> {
  const user = vm.migrationById === null
    ? null
    : await db.user.findUnique({ where: { id: vm.migrationById }, select: { id: true, tenantId: true, username: true, role: true, disabled: true } });
  if (!user) {
    // Who started it is gone: the move is dropped (the VM stays on its host in the console's view).
    await db.vm.updateMany({ where: { id: vm.id, migratingToHostId: hostId }, data: { migratingToHostId: null, migrationById: null, migrationStartedAt: null } });
    return;
  }
  // Disabled or no longer an operator since starting it: nothing is done in their name. The move stays
  // pending (the destination keeps the VIF it activated, so the VM keeps its network) until the user is
  // enabled again or an operator of the farm cancels it.
  if (user.disabled || user.role === 'viewer') return;
  const actor: UserActor = { kind: 'user', userId: user.id, tenantId: user.tenantId, username: user.username, role: user.role };
  try {
    await migrateVm({ db, actor, id: vm.id, hostId, expectedRevision: vm.farm.revision, finishing: true });
  } catch (err) {
    // A concurrent finish (or edit) got there first: the next report tries again if the move is still pending.
    if (!(err instanceof Error)) throw err;
  }
}
