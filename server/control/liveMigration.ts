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
//   destination lists them plainly), in the name of who started it; the
//   deployed revision with the move, not undeployed edits (deploy.ts). A
//   finish that fails is recorded on the VM and, for a lasting reason, not
//   tried again until an operator retries it (vm.retryMigration, in their
//   name); a passing failure backs off.
// - cancel (vm.cancelMigration): the pending destination is cleared and the
//   destination's incoming VIFs dropped; refused once the destination
//   reported the VM there, or the source reported that it let the VM's VIF
//   go on the destination's announcement (either way it runs there).
import type { Db } from '../db/index.ts';
import { AppError, badRequest, conflict } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import type { Report } from '../../contract/report.ts';
import { writeAudit } from '../audit/audit.ts';
import { requireFarm, resolveHost, WRITE_TX, type Tx } from '../farms/farmAccess.ts';
import type { VmView } from '../farms/farmShapes.ts';
import { toVmView, vmSelect } from '../farms/farmViews.ts';
import { requireHostRunsGuest } from '../farms/placements.ts';
import { requireVm } from '../farms/vms.ts';
import { CONTROL_TX, lockControlLoop } from './desiredState.ts';
import {
  finishDeployment, migrateVm, refuseWhileMoving, requireIntentAt, runRevision, type MigrateResult, type WaitOptions,
} from './deploy.ts';
import { loadRevision } from './plan.ts';
import { loadVmLocations, nextLocation } from './vmLocations.ts';

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
    // What the start deploys is the deployed revision (the intent is not edited): the VM must run there as its intent says.
    const deployed = (await loadRevision(tx, farm, farm.deployedRevision)).vms.find((v) => v.id === current.id || (v.id === undefined && v.name === current.name));
    if (!deployed) {
      throw badRequest('live', `VM ${current.name} is not in farm ${farm.name}'s deployed revision ${farm.deployedRevision}: nothing runs to live-migrate; deploy the farm first or move it with live: false`);
    }
    if (deployed.guestKind !== 'tap' || deployed.host !== current.host?.name) {
      throw badRequest('live', `VM ${current.name} runs as farm ${farm.name}'s deployed revision ${farm.deployedRevision} has it (${deployed.guestKind} guest on host ${deployed.host ?? 'none'}), not as its intent says (${current.guestKind} guest on host ${current.host?.name}): deploy the farm first`);
    }
    const hostId = (await resolveHost(tx, o.hostId, 'hostId'))!;
    if (hostId === current.hostId) throw badRequest('hostId', `VM ${current.name} is already on host ${current.host?.name ?? hostId}`);
    const dest = await tx.host.findUnique({ where: { id: hostId }, select: { name: true, status: true } });
    if (dest?.status === 'pending') throw badRequest('hostId', `host ${dest.name} has not enrolled: no agent runs there to receive the VM`);
    await requireHostRunsGuest(tx, hostId, current.guestKind, 'hostId');
    // One version up: the source keeps its version, the destination gets the next one (nextLocation).
    const row = await tx.vm.update({
      where: { id: o.id },
      data: { ...NO_MOVE, migratingToHostId: hostId, migrationById: o.actor.userId, migrationStartedAt: new Date(), locationVersion: { increment: 1 } },
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

/**
 * True when the destination has reported one of the VM's VIFs active since
 * the move started: the VM runs there (QEMU resumed it and it spoke), and the
 * source has let its VIF go, or will on the destination's ANNOUNCE. A
 * destination revoked or deleted since does not count.
 */
async function arrived(tx: Tx, vm: { id: string; migratingToHostId: string | null; migrationStartedAt: Date | null; vifs: { id: string }[] }) {
  if (vm.migratingToHostId === null) return null;
  const row = await tx.hostReport.findUnique({
    where: { hostId: vm.migratingToHostId },
    select: { report: true, receivedAt: true, host: { select: { name: true, status: true } } },
  });
  if (!row || row.host.status === 'revoked' || (vm.migrationStartedAt !== null && row.receivedAt < vm.migrationStartedAt)) return null;
  const ids = new Set(vm.vifs.map((v) => v.id));
  const active = activatedVifs(row.report as unknown as Report).some((id) => ids.has(id));
  return active ? { host: row.host.name, at: row.receivedAt } : null;
}

/**
 * The source's word, when it has reported that it let one of the VM's VIFs
 * go to the location version this move gives the destination (report
 * `movedTo`); null otherwise. It lets go only on the destination's
 * announcement of that version, which that agent sends on the VM's first
 * frame there: QEMU's RARP, sent once the incoming migration has completed.
 * So the VM runs on the destination even when that host's own report has not
 * arrived (its agent restarted, its link to the console is down, or the
 * report is a moment behind). Only that very version counts: not a VIF let
 * go in an earlier move (a lower one), nor one let go on some other host's
 * announcement of a higher one (not this move's destination speaking); nor
 * does a destination revoked or deleted since (nothing could finish that
 * move; the cancel is the only way out of it).
 */
async function letGo(tx: Tx, vm: { id: string; hostId: string | null; locationVersion: number; migratingToHostId: string | null; vifs: { id: string }[] }) {
  if (vm.migratingToHostId === null || vm.hostId === null) return null;
  const dest = await tx.host.findUnique({ where: { id: vm.migratingToHostId }, select: { name: true, status: true } });
  const row = await tx.hostReport.findUnique({
    where: { hostId: vm.hostId },
    select: { report: true, receivedAt: true, host: { select: { name: true, status: true } } },
  });
  if (!dest || dest.status === 'revoked' || !row || row.host.status === 'revoked') return null;
  // The version the destination holds, as desiredInput.ts gives it (the VM's intent version is the floor).
  const version = nextLocation((await loadVmLocations(tx, [vm.id])).get(vm.id), vm.migratingToHostId, vm.locationVersion);
  const ids = new Set(vm.vifs.map((v) => v.id));
  const moved = ((row.report as unknown as Report).vifs ?? []).some((v) => ids.has(v.id) && v.movedTo === version);
  return moved ? { source: row.host.name, destination: dest.name, at: row.receivedAt, version } : null;
}

/** The columns of a live migration, cleared: no move, no failure. */
const NO_MOVE = {
  migratingToHostId: null, migrationById: null, migrationStartedAt: null,
  migrationError: null, migrationErrorAt: null, migrationRetryAt: null, migrationFailures: 0,
} as const;

/**
 * vm.cancelMigration: the VM stays where it is; the destination drops its
 * incoming VIFs. Refused once the destination reported the VM there, or the
 * source reported that it let the VM's VIF go: the VM runs on the
 * destination, so dropping its VIFs there would take its TAP away, and the
 * source would not take the VIF back either (it keeps it inactive until a new
 * location version: claiming it again would make two hosts answer for one
 * MAC while the VM runs elsewhere). Such a move is finished
 * (vm.retryMigration when its finish failed). A cancel that reaches the
 * console before either report is not caught (docs/operations.md).
 */
export async function cancelLiveMigration(o: { db: Db; actor: UserActor; id: string } & WaitOptions): Promise<MigrateResult> {
  const out = await o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    const current = await requireVm(tx, o.actor, o.id);
    if (current.migratingToHostId === null) throw conflict('id', `VM ${current.name} is not being live-migrated`);
    const there = await arrived(tx, current);
    if (there) {
      throw conflict('id', `VM ${current.name} already runs on host ${there.host} (it reported the VM's VIF active at ${there.at.toISOString()}): `
        + 'the move can no longer be cancelled; it is finished when the console records it'
        + (current.migrationError === null ? '' : ` (it failed: ${current.migrationError}; fix that and retry it with vm.retryMigration)`)
        + '. To bring the VM back, live-migrate it again once the move is finished');
    }
    const gone = await letGo(tx, current);
    if (gone) {
      throw conflict('id', `VM ${current.name} already runs on host ${gone.destination}: host ${gone.source} reported at ${gone.at.toISOString()} that it let the VM's VIF go `
        + `on ${gone.destination}'s announcement of the VM (location version ${gone.version}, sent on the VM's first frame there), though ${gone.destination}'s own report has not arrived; `
        + 'the move can no longer be cancelled (the VM would be left without a network on both hosts); it is finished when '
        + `${gone.destination} reports the VM (if it does not, check that host's agent and its link to the console). To bring the VM back, live-migrate it again once the move is finished`);
    }
    const row = await tx.vm.update({ where: { id: o.id }, data: NO_MOVE, select: vmSelect });
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

/**
 * vm.retryMigration: the caller takes over a live migration (it is finished
 * in their name from now on) and its failure is cleared. When the
 * destination has already reported the VM there, the move is finished at
 * once; the VM view says how that went (moved, or `migrationError` again).
 */
export async function retryLiveMigration(o: { db: Db; actor: UserActor; id: string }): Promise<{ vm: VmView }> {
  const taken = await o.db.$transaction(async (tx) => {
    const current = await requireVm(tx, o.actor, o.id);
    await requireFarm(tx, o.actor, current.farm.id, 'id');
    if (current.migratingToHostId === null) throw conflict('id', `VM ${current.name} is not being live-migrated`);
    // Only the move the caller read: a cancel, a finish or another operator's move committed meanwhile is not taken over.
    const taken = await tx.vm.updateMany({
      where: { id: o.id, migratingToHostId: current.migratingToHostId, migrationStartedAt: current.migrationStartedAt, migrationErrorAt: current.migrationErrorAt },
      data: { migrationById: o.actor.userId, migrationError: null, migrationErrorAt: null, migrationRetryAt: null, migrationFailures: 0 },
    });
    if (taken.count !== 1) throw conflict('id', `the live migration of VM ${current.name} changed while it was being taken over; read it again`);
    const row = await tx.vm.findUniqueOrThrow({ where: { id: o.id }, select: vmSelect });
    await writeAudit(tx, { actor: o.actor, action: 'vm.retryMigration', entity: 'vm', entityId: o.id, before: toVmView(current), after: toVmView(row) });
    return { hostId: current.migratingToHostId, arrived: (await arrived(tx, current)) !== null };
  }, WRITE_TX);
  if (taken.arrived) {
    const vm = await o.db.vm.findUnique({ where: { id: o.id }, select: FINISH_SELECT });
    if (vm) await finishOne(o.db, taken.hostId, vm);
  }
  const { farm: _farm, ...row } = await requireVm(o.db, o.actor, o.id);
  return { vm: toVmView(row) };
}

/** The ids of the VIFs a report says became active by live migration. */
export function activatedVifs(report: Report): string[] {
  return (report.vifs ?? []).flatMap((v) => (v.migration?.state === 'active' ? [v.id] : []));
}

/** The first retry after a passing failure waits this long, doubling with each failure up to RETRY_MAX_MS. */
export const RETRY_MIN_MS = 5_000;
export const RETRY_MAX_MS = 300_000;

const FINISH_SELECT = {
  id: true, name: true, migrationById: true, migrationFailures: true, farm: { select: { revision: true, tenantId: true } },
} as const;
type Moving = { id: string; name: string; migrationById: string | null; migrationFailures: number; farm: { revision: number; tenantId: string } };

/**
 * Called with each stored report of host `hostId` that has a VIF active by
 * live migration: finishes the moves to this host whose VIFs it reports
 * active. Never throws (a report is stored whatever happens here). A move
 * whose finish failed is recorded on the VM (vm.get shows why): one that
 * failed for a reason that lasts (who started it can no longer act on the
 * farm, the destination no longer runs the guest, ...) is not tried again
 * until an operator retries or cancels it; after a passing failure (a
 * concurrent edit, the database) the destination's reports try again after
 * a delay that doubles with each failure. Either way a report of a move not
 * due for a try costs this one read, never the control-loop lock.
 */
export async function finishLiveMoves(db: Db, hostId: string, vifIds: string[], now = new Date()): Promise<void> {
  if (!vifIds.length) return;
  try {
    const moving = await db.vm.findMany({
      where: {
        migratingToHostId: hostId,
        vifs: { some: { id: { in: vifIds } } },
        OR: [{ migrationError: null }, { migrationRetryAt: { lte: now } }],
      },
      select: FINISH_SELECT,
    });
    for (const vm of moving) await finishOne(db, hostId, vm);
  } catch {
    // The database failed before any finish was tried: the next report with the VIF active tries again.
  }
}

/** The same for the host holding the credential that hashes to `credentialHash` (the lean report path). */
export async function finishLiveMovesByCredential(db: Db, credentialHash: string, vifIds: string[]): Promise<void> {
  if (!vifIds.length) return;
  const host = await db.host.findUnique({ where: { credentialHash }, select: { id: true } }).catch(() => null);
  if (host) await finishLiveMoves(db, host.id, vifIds);
}

/** Who started the move, to finish it in their name; or why they can no longer act on the farm. */
async function starter(db: Db, vm: Moving): Promise<{ actor: UserActor } | { refusal: string }> {
  const user = vm.migrationById === null
    ? null
    : await db.user.findUnique({ where: { id: vm.migrationById }, select: { id: true, tenantId: true, username: true, role: true, disabled: true } });
  if (!user) return { refusal: 'the user who started it no longer exists' };
  if (user.disabled) return { refusal: `${user.username}, who started it, is disabled` };
  if (user.role === 'viewer') return { refusal: `${user.username}, who started it, is no longer an operator` };
  if (user.tenantId !== vm.farm.tenantId) return { refusal: `${user.username}, who started it, is no longer in the farm's tenant` };
  return { actor: { kind: 'user', userId: user.id, tenantId: user.tenantId, username: user.username, role: user.role } };
}

/** A failure that trying again cannot fix: refused by a check, not by a concurrent edit or the database. */
function lasting(err: unknown): boolean {
  return err instanceof AppError && !(err.code === 'CONFLICT' && err.field === 'expectedRevision');
}

async function finishOne(db: Db, hostId: string, vm: Moving): Promise<void> {
  const who = await starter(db, vm);
  if ('refusal' in who) {
    // Nothing is done in their name; the hosts keep the move as it is (the destination keeps the VIF it activated).
    await recordFailure(db, hostId, vm, `${who.refusal}: the move is not finished in their name; an operator of the farm finishes it in their own (vm.retryMigration)`, true).catch(() => {});
    return;
  }
  try {
    await migrateVm({ db, actor: who.actor, id: vm.id, hostId, expectedRevision: vm.farm.revision, finishing: true });
  } catch (err) {
    // Recorded only while the move is still this one (recordFailure): one cancelled, finished or taken over meanwhile is left alone.
    // A check's refusal says what to fix; anything else is the database's (its text is not for tenants: it may name internals).
    const message = err instanceof AppError ? err.message : 'the console could not record it (a database error); tried again later';
    await recordFailure(db, hostId, vm, message, lasting(err)).catch(() => {});
  }
}

/** Records why a finish failed, unless the move changed meanwhile; a passing failure backs off. */
async function recordFailure(db: Db, hostId: string, vm: Moving, message: string, stop: boolean): Promise<void> {
  const now = new Date();
  const failures = vm.migrationFailures + 1;
  const retryAt = stop ? null : new Date(now.getTime() + Math.min(RETRY_MIN_MS * 2 ** Math.min(failures - 1, 16), RETRY_MAX_MS));
  await db.vm.updateMany({
    where: { id: vm.id, migratingToHostId: hostId, migrationById: vm.migrationById, migrationFailures: vm.migrationFailures },
    data: { migrationError: message.slice(0, MIGRATION_ERROR_MAX_CHARS), migrationErrorAt: now, migrationRetryAt: retryAt, migrationFailures: failures },
  });
}

const MIGRATION_ERROR_MAX_CHARS = 1000;
