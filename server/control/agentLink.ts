// The console's side of the agent link: the stream of desired states an agent
// follows and the reports it sends back (liveness: hostLiveness.ts).
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { EventInbox, getEventBus, publish } from '../events/index.ts';
import type { HostActor } from '../auth/actors.ts';
import type { HostState } from '../compile/index.ts';
import type { Report } from '../../contract/report.ts';
import { completeDeploymentsOf } from './deployments.ts';
import { readDesired } from './desiredState.ts';
import { ensureLivenessSweep } from './hostLiveness.ts';

export { liveStatus, OFFLINE_AFTER_MS, REPORT_INTERVAL_MS } from './hostLiveness.ts';

/**
 * An open stream re-reads its host this often even without events, so a
 * notification lost while the LISTEN connection was down (or a revocation)
 * is noticed within a minute at worst.
 */
export const RESYNC_INTERVAL_MS = 60_000;

/** One value of the desired-state stream: a generation and the whole state document. */
export interface DesiredUpdate {
  generation: number;
  state: HostState & { generation: number };
}

const REVOKED = 'host credential is not valid (revoked or re-enrolled); enroll the agent again';

/** A host credential that was revoked after the request was authenticated stops working at once. */
export async function requireAgentHost(db: Db | Prisma.TransactionClient, hostId: string) {
  const host = await db.host.findUnique({
    where: { id: hostId },
    select: { status: true, credentialHash: true, desiredGeneration: true, appliedGeneration: true },
  });
  if (!host || host.status === 'revoked' || host.credentialHash === null) throw new AppError('UNAUTHORIZED', REVOKED);
  return host;
}

/**
 * The caller's own desired state: first the current one (unless the agent
 * already has that generation), then every newer generation as it is
 * committed. The host is always the credential's own; no input can name
 * another. Ends when `signal` aborts; throws UNAUTHORIZED once the
 * credential is revoked.
 */
export async function* desiredUpdates(o: {
  db: Db;
  actor: HostActor;
  lastGeneration?: number | undefined;
  signal?: AbortSignal | undefined;
}): AsyncGenerator<DesiredUpdate> {
  const { db, actor } = o;
  ensureLivenessSweep(db);
  const inbox = new EventInbox(
    await getEventBus(db),
    (e) => (e.type === 'host.desired' || e.type === 'host.revoked') && e.hostId === actor.hostId,
  );
  try {
    await requireAgentHost(db, actor.hostId);
    let last = o.lastGeneration;
    const current = await readDesired(db, actor.hostId);
    if (!current) throw new AppError('UNAUTHORIZED', REVOKED);
    // A generation other than the agent's (even a lower one: the console's
    // database was restored) means the agent must take the console's state.
    if (last === undefined || current.generation !== last) {
      last = current.generation;
      yield current;
    }
    while (!o.signal?.aborted) {
      const events = await inbox.next({ signal: o.signal, timeoutMs: RESYNC_INTERVAL_MS });
      if (o.signal?.aborted) return;
      if (events.some((e) => e.type === 'host.revoked')) throw new AppError('UNAUTHORIZED', REVOKED);
      // The generation first (a small read); the document only when it is newer.
      const host = await requireAgentHost(db, actor.hostId);
      if (host.desiredGeneration <= last) continue;
      const d = await readDesired(db, actor.hostId);
      if (!d) throw new AppError('UNAUTHORIZED', REVOKED);
      if (d.generation > last) {
        last = d.generation;
        yield d;
      }
    }
  } finally {
    inbox.close();
  }
}

/**
 * Stores an agent's report (the latest only) and what it says about the
 * host. Reports are telemetry, sent every few seconds, so they are not
 * written to the audit log; enrollment and revocation are.
 */
export async function handleReport(o: { db: Db; actor: HostActor; report: Report; now?: Date }): Promise<{ desiredGeneration: number }> {
  const { db, actor, report } = o;
  const now = o.now ?? new Date();
  return db.$transaction(async (tx) => {
    const host = await requireAgentHost(tx, actor.hostId);
    // An agent ahead of the console (its database was restored) has not applied
    // anything this console asked for: keep the last real value until it catches up.
    const applied = report.appliedGeneration <= host.desiredGeneration ? report.appliedGeneration : host.appliedGeneration;
    const { appliedGeneration, capabilities, ...rest } = report;
    const body = rest as unknown as Prisma.InputJsonValue;
    await tx.hostReport.upsert({
      where: { hostId: actor.hostId },
      create: { hostId: actor.hostId, appliedGeneration, report: body, receivedAt: now },
      update: { appliedGeneration, report: body, receivedAt: now },
      select: { hostId: true },
    });
    const { count } = await tx.host.updateMany({
      where: { id: actor.hostId, status: { not: 'revoked' }, credentialHash: { not: null } },
      data: { appliedGeneration: applied, lastSeenAt: now, status: 'online', agentVersion: report.agentVersion, ...(capabilities ? { capabilities } : {}) },
    });
    if (count !== 1) throw new AppError('UNAUTHORIZED', REVOKED);
    await publish(tx, { type: 'host.report', hostId: actor.hostId, appliedGeneration: applied });
    if (applied > host.appliedGeneration) await completeDeploymentsOf(tx, actor.hostId, now);
    return { desiredGeneration: host.desiredGeneration };
  });
}
