// Deployments and their progress: which hosts a deploy gave a new generation
// and whether each has reported it applied ("applied on N of M hosts", the
// console's analogue of OVN's --wait=hv). Waiting is event driven: it wakes
// on `host.report` for a target host and re-reads, never polls.
import type { Db } from '../db/index.ts';
import type { Prisma } from '../db/generated/client.ts';
import { notFound } from '../errors.ts';
import { EventInbox, getEventBus, type ConsoleEvent } from '../events/index.ts';
import type { UserActor } from '../auth/actors.ts';
import { liveStatus } from './hostLiveness.ts';
import { applyErrorText } from './hostReports.ts';
import type { DeploymentProgress, DeploymentTarget, DeploymentView } from './controlShapes.ts';
import { requireFarm } from '../farms/farmAccess.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';

type Q = Db | Prisma.TransactionClient;

export const deploymentSelect = {
  id: true, farmId: true, kind: true, revision: true, targets: true, createdById: true, createdAt: true, completedAt: true,
} as const;

type DeploymentRow = Prisma.DeploymentGetPayload<{ select: typeof deploymentSelect }>;

export function toDeploymentView(r: DeploymentRow): DeploymentView {
  return { ...r, kind: r.kind as DeploymentView['kind'], targets: (r.targets ?? []) as unknown as DeploymentTarget[] };
}

async function requireDeployment(db: Q, actor: UserActor, id: string): Promise<DeploymentView> {
  const row = await db.deployment.findFirst({ where: { id, farm: { tenantId: actor.tenantId } }, select: deploymentSelect });
  if (!row) throw notFound('deployment', 'id');
  return toDeploymentView(row);
}

export async function listDeployments(o: { db: Db; actor: UserActor; farmId: string; cursor?: string | undefined; limit: number }) {
  await requireFarm(o.db, o.actor, o.farmId, 'farmId');
  const where = { farmId: o.farmId };
  await checkCursor(o.cursor, (id) => o.db.deployment.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await o.db.deployment.findMany({ where, select: deploymentSelect, orderBy: ORDER_BY_CREATED, ...pageArgs(o) });
  return toPage(rows.map(toDeploymentView), o);
}

/**
 * The progress of a deployment already loaded (no tenant check), as `reader`
 * may see it (agents' apply errors in full for admins only; null: the
 * console itself).
 */
export async function progressOf(db: Q, d: DeploymentView, reader: UserActor | null, now = new Date()): Promise<DeploymentProgress> {
  const ids = d.targets.map((t) => t.hostId);
  // Sequential: `db` may be a transaction (one connection).
  const rows = ids.length
    ? await db.host.findMany({
        where: { id: { in: ids } },
        select: { id: true, name: true, appliedGeneration: true, status: true, lastSeenAt: true },
      })
    : [];
  // Only the apply error, not the whole report (which carries the VARP cache).
  const errors = ids.length
    ? await db.$queryRawUnsafe<{ hostId: string; applyError: { generation?: unknown; message?: unknown } | null }[]>(
        `SELECT "hostId"::text AS "hostId", "report"->'applyError' AS "applyError" FROM "HostReport" WHERE "hostId" = ANY($1::uuid[])`,
        ids,
      )
    : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const errorOf = new Map(errors.map((e) => [e.hostId, e.applyError]));
  const hosts = d.targets.map((t) => {
    const h = byId.get(t.hostId);
    if (!h) {
      return { hostId: t.hostId, host: t.host, generation: t.generation, appliedGeneration: 0, applied: false, status: 'offline' as const, error: 'the host was deleted' };
    }
    const applied = h.appliedGeneration >= t.generation;
    const e = errorOf.get(t.hostId);
    const error =
      !applied && e && typeof e.generation === 'number' && e.generation >= t.generation && typeof e.message === 'string'
        ? reader
          ? applyErrorText(reader, e.generation, e.message)
          : e.message
        : null;
    return {
      hostId: t.hostId,
      host: h.name,
      generation: t.generation,
      appliedGeneration: h.appliedGeneration,
      applied,
      status: liveStatus(h.status, h.lastSeenAt, now),
      error,
    };
  });
  const applied = hosts.filter((h) => h.applied).length;
  const complete = applied === hosts.length;
  let completedAt = d.completedAt;
  if (complete && !completedAt) {
    // Counted complete here although no report's count said so (see recordTargets): mark it as a report would.
    completedAt = now;
    const marked = await db.deployment.updateMany({ where: { id: d.id, completedAt: null }, data: { completedAt: now, missing: 0 } });
    if (marked.count) await db.deploymentTarget.deleteMany({ where: { deploymentId: d.id } });
  }
  return { deploymentId: d.id, farmId: d.farmId, kind: d.kind, revision: d.revision, total: hosts.length, applied, complete, completedAt, hosts };
}

export async function deploymentProgress(o: { db: Db; actor: UserActor; id: string; now?: Date }): Promise<DeploymentProgress> {
  return progressOf(o.db, await requireDeployment(o.db, o.actor, o.id), o.actor, o.now);
}

/**
 * The open targets of a deployment just created (inside its transaction),
 * with its count of missing targets, which reports keep from then on
 * (server/control/agentLink.ts). Every target starts missing: a deploy gives
 * each target host a generation above any it was asked to apply before, and
 * a report never counts a generation above the host's desired one applied.
 * A report that could still cross that generation before the deploy commits
 * (an agent ahead of a restored console) waits on the host's row and then
 * does not see the new targets; a wait's periodic full read
 * (FULL_CHECK_MS) completes such a deployment.
 */
export async function recordTargets(tx: Q, deploymentId: string, targets: readonly { hostId: string; generation: number }[]): Promise<void> {
  if (targets.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO "DeploymentTarget" ("deploymentId", "hostId", generation) SELECT $1::uuid, u.* FROM unnest($2::uuid[], $3::int4[]) AS u`,
    deploymentId,
    targets.map((t) => t.hostId),
    targets.map((t) => t.generation),
  );
}

const progressKey = (p: DeploymentProgress) =>
  JSON.stringify(p.hosts.map((h) => [h.appliedGeneration, h.applied, h.status, h.error]));

function relevant(e: ConsoleEvent, targets: Set<string> | null): boolean {
  if (e.type !== 'host.report' && e.type !== 'host.status') return false;
  return targets === null || targets.has(e.hostId);
}

/**
 * Progress now, then again whenever it changes, until every target applied
 * (the last value has `complete: true`) or `signal` aborts.
 */
export async function* watchDeployment(o: {
  db: Db;
  actor: UserActor;
  id: string;
  signal?: AbortSignal | undefined;
}): AsyncGenerator<DeploymentProgress> {
  let targets: Set<string> | null = null;
  // Subscribe before the first read: a report landing in between is not lost.
  const inbox = new EventInbox(await getEventBus(o.db), (e) => relevant(e, targets));
  try {
    const d = await requireDeployment(o.db, o.actor, o.id);
    targets = new Set(d.targets.map((t) => t.hostId));
    let p = await progressOf(o.db, d, o.actor);
    let last = progressKey(p);
    yield p;
    while (!p.complete && !o.signal?.aborted) {
      const events = await inbox.next({ signal: o.signal });
      if (!events.some((e) => relevant(e, targets))) continue;
      p = await progressOf(o.db, d, o.actor);
      const key = progressKey(p);
      if (key !== last || p.complete) {
        last = key;
        yield p;
      }
    }
  } finally {
    inbox.close();
  }
}

export interface WaitResult {
  progress: DeploymentProgress;
  timedOut: boolean;
  missing: string[];
}

/** The progress once complete, or the last one read when `signal` aborts (see waitForDeployment). */
async function waitQuietly(db: Db, actor: UserActor, id: string, signal: AbortSignal): Promise<DeploymentProgress> {
  // Subscribe before the first read: a completion landing in between is not lost.
  const inbox = new EventInbox(await getEventBus(db), (e) => e.type === 'deployment.completed', `deployment:${id}`);
  try {
    const d = await requireDeployment(db, actor, id);
    let p = await progressOf(db, d, actor);
    while (!p.complete && !signal.aborted) {
      await inbox.next({ signal, timeoutMs: FULL_CHECK_MS });
      if (signal.aborted) break;
      // Completed (the report that brought the count to zero said so), or the periodic full read.
      p = await progressOf(db, d, actor);
    }
    return p;
  } finally {
    inbox.close();
  }
}

/**
 * How often a wait re-reads every target's progress even when no report
 * completed the deployment (a completion the reports' counts could miss: see
 * recordTargets).
 */
const FULL_CHECK_MS = 1_000;

/**
 * Waits until every target host applied its generation, or `timeoutMs` passes (not an error).
 *
 * Without `onProgress` the wait reads nothing on the targets' reports: the
 * report that brings the deployment's count of missing targets to zero
 * marks it completed and announces it (`deployment.completed`), and the wait
 * reads the whole progress then, every FULL_CHECK_MS otherwise, and at the
 * end. Under a fleet's rollout a read on each of hundreds of reports a second
 * kept the database busy with the wait instead of the reports.
 */
export async function waitForDeployment(o: {
  db: Db;
  actor: UserActor;
  id: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  onProgress?: (p: DeploymentProgress) => void;
}): Promise<WaitResult> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), o.timeoutMs);
  timer.unref();
  const signal = o.signal ? AbortSignal.any([o.signal, timeout.signal]) : timeout.signal;
  let progress: DeploymentProgress | undefined;
  try {
    if (o.onProgress) {
      for await (const p of watchDeployment({ db: o.db, actor: o.actor, id: o.id, signal })) {
        progress = p;
        o.onProgress(p);
      }
    } else {
      progress = await waitQuietly(o.db, o.actor, o.id, signal);
    }
  } finally {
    clearTimeout(timer);
  }
  // Timed out: one last read, so a report that landed with the timeout still counts.
  const last = progress && !progress.complete ? await deploymentProgress({ db: o.db, actor: o.actor, id: o.id }) : progress!;
  return { progress: last, timedOut: !last.complete, missing: last.hosts.filter((h) => !h.applied).map((h) => h.host) };
}
