// The console's side of the agent link: the stream of desired states an agent
// follows and the reports it sends back (liveness: hostLiveness.ts).
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { EventInbox, getEventBus } from '../events/index.ts';
import type { HostActor } from '../auth/actors.ts';
import type { HostState } from '../compile/index.ts';
import type { Report } from '../../contract/report.ts';
import { HOST_CREDENTIAL_REVOKED } from './desiredState.ts';
import { readDesiredIfNewer, readDesiredTextIfNewer, type DesiredText } from './desiredReads.ts';
import { storeReportBatched, storeReports, type ReportExec } from './reportWrite.ts';
import { activatedVifs, finishLiveMoves, finishLiveMovesByCredential } from './liveMigration.ts';

export type { ReportExec } from './reportWrite.ts';
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

const REVOKED = HOST_CREDENTIAL_REVOKED;

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
export function desiredUpdates(o: DesiredStreamOptions): AsyncGenerator<DesiredUpdate> {
  return desiredStream(o, readDesiredIfNewer);
}

/** The same with each document as its stored JSON text (server/serve/leanDesired.ts sends it as it is). */
export function desiredTexts(o: DesiredStreamOptions): AsyncGenerator<DesiredText> {
  return desiredStream(o, readDesiredTextIfNewer);
}

export interface DesiredStreamOptions {
  db: Db;
  actor: HostActor;
  lastGeneration?: number | undefined;
  signal?: AbortSignal | undefined;
}

async function* desiredStream<T extends { generation: number }>(
  o: DesiredStreamOptions,
  read: (db: Db, hostId: string, after: number) => Promise<T | null>,
): AsyncGenerator<T> {
  const { db, actor } = o;
  ensureLivenessSweep(db);
  const inbox = new EventInbox(
    await getEventBus(db),
    (e) => (e.type === 'host.desired' || e.type === 'host.revoked') && e.hostId === actor.hostId,
    `host:${actor.hostId}`,
  );
  try {
    let last = o.lastGeneration;
    // The credential still holds (UNAUTHORIZED otherwise) and the current state, whatever its generation.
    const current = await read(db, actor.hostId, -1);
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
      // The credential still holds, and the document only when it is newer: one statement for every stream woken in this turn.
      const d = await read(db, actor.hostId, last);
      if (d && d.generation > last) {
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
 *
 * One statement (atomic on its own): every agent sends one every few
 * seconds and one after each apply, so a fleet of 1,000 sends hundreds a
 * second; as an interactive transaction of five round trips each held a
 * pooled connection long enough that a fleet's reports queued past the
 * transaction wait and were refused.
 */
export async function handleReport(o: { db: Db; actor: HostActor; report: Report; now?: Date }): Promise<{ desiredGeneration: number }> {
  const { db } = o;
  const exec: ReportExec = (_name, text, values) => db.$queryRawUnsafe(text, ...values);
  const answer = await storeReports(exec, 'id', [{ key: o.actor.hostId, report: o.report }], o.now ?? new Date()).then((a) => a[0]);
  if (!answer) throw new AppError('UNAUTHORIZED', REVOKED);
  await finishLiveMoves(db, o.actor.hostId, activatedVifs(o.report));
  return answer;
}

/**
 * The same for the host whose credential hashes to `credentialHash`, in one
 * statement with the credential check (server/serve/leanReport.ts); null
 * when no live host holds that credential (the caller then answers as the
 * procedure would: UNAUTHORIZED). With `db`, a live migration the report
 * says arrived is finished (server/control/liveMigration.ts).
 */
export async function handleReportByCredential(o: { exec: ReportExec; credentialHash: string; report: Report; db?: Db }) {
  const answer = await storeReportBatched(o.exec, o.credentialHash, o.report);
  if (answer && o.db) await finishLiveMovesByCredential(o.db, o.credentialHash, activatedVifs(o.report));
  return answer;
}
