// The console's side of the agent link: the stream of desired states an agent
// follows and the reports it sends back (liveness: hostLiveness.ts).
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { EVENT_CHANNEL, EventInbox, getEventBus } from '../events/index.ts';
import type { HostActor } from '../auth/actors.ts';
import type { HostState } from '../compile/index.ts';
import type { Report } from '../../contract/report.ts';
import { completeDeploymentsOf } from './deployments.ts';
import { activatedVifs, finishLiveMoves } from './liveMigration.ts';
import { HOST_CREDENTIAL_REVOKED, readDesired, readDesiredIfNewer } from './desiredState.ts';
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
    `host:${actor.hostId}`,
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
      // One statement: the credential still holds, and the document only when it is newer.
      const d = await readDesiredIfNewer(db, actor.hostId, last);
      if (d && d.generation > last) {
        last = d.generation;
        yield d;
      }
    }
  } finally {
    inbox.close();
  }
}

/** Runs one statement; `name` makes it a prepared statement where the driver has them (raw pg). */
export type ReportExec = (name: string, text: string, values: unknown[]) => Promise<ReportRow[]>;

interface ReportRow {
  hostId: string;
  desired: number;
  prev: number;
  applied: number;
  stored: number;
  updated: number;
  told: number;
}

/**
 * The report statement. `$1` picks the host: its id (`by: 'id'`, a caller
 * already authenticated) or the hash of the credential it presented
 * (`by: 'credential'`, the lean path: the credential check and the report in
 * one statement). Either way a revoked host, or one without a credential,
 * matches nothing and nothing is written.
 */
const reportSql = (by: 'id' | 'credential') => `WITH h AS (
       SELECT id, "desiredGeneration" AS desired, "appliedGeneration" AS prev FROM "Host"
        WHERE ${by === 'id' ? 'id = $1::uuid' : '"credentialHash" = $1'} AND status <> 'revoked' AND "credentialHash" IS NOT NULL FOR UPDATE),
     -- An agent ahead of the console (its database was restored) has not applied
     -- anything this console asked for: keep the last real value until it catches up.
     a AS (SELECT id, desired, prev, CASE WHEN $2::int <= desired THEN $2::int ELSE prev END AS applied FROM h),
     r AS (INSERT INTO "HostReport" ("hostId", "appliedGeneration", report, "receivedAt") SELECT id, $2::int, $3::jsonb, $4::timestamptz FROM a
           ON CONFLICT ("hostId") DO UPDATE SET "appliedGeneration" = EXCLUDED."appliedGeneration", report = EXCLUDED.report, "receivedAt" = EXCLUDED."receivedAt"
           RETURNING "hostId"),
     u AS (UPDATE "Host" SET "appliedGeneration" = a.applied, "lastSeenAt" = $4::timestamptz, status = 'online', "agentVersion" = $5,
             capabilities = coalesce($6::jsonb, "Host".capabilities), "updatedAt" = $4::timestamptz
           FROM a WHERE "Host".id = a.id RETURNING "Host".id),
     -- Delivered at commit, like publish().
     n AS (SELECT pg_notify($7, json_build_object('type', 'host.report', 'hostId', a.id, 'appliedGeneration', a.applied)::text) FROM a)
     SELECT a.id::text AS "hostId", a.desired, a.prev, a.applied, (SELECT count(*) FROM r)::int AS stored, (SELECT count(*) FROM u)::int AS updated,
            (SELECT count(*) FROM n)::int AS told FROM a`;
const REPORT_BY_ID = reportSql('id');
const REPORT_BY_CREDENTIAL = reportSql('credential');

/** Stores a report for the host `key` names (see reportSql); null when no live host matches. */
async function storeReport(db: Db, exec: ReportExec, by: 'id' | 'credential', key: string, report: Report, now: Date) {
  const { appliedGeneration, capabilities, ...rest } = report;
  const rows = await exec(
    by === 'id' ? 'softudc_report_by_id' : 'softudc_report_by_credential',
    by === 'id' ? REPORT_BY_ID : REPORT_BY_CREDENTIAL,
    [key, appliedGeneration, JSON.stringify(rest), now, report.agentVersion, capabilities ? JSON.stringify(capabilities) : null, EVENT_CHANNEL],
  );
  const row = rows[0];
  if (!row || Number(row.updated) !== 1) return null;
  // After the report is committed, so the host's own new generation counts.
  if (row.applied > row.prev) await completeDeploymentsOf(db, row.hostId, now);
  await finishLiveMoves(db, row.hostId, activatedVifs(report));
  return { desiredGeneration: row.desired };
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
  const exec: ReportExec = (_name, text, values) => db.$queryRawUnsafe<ReportRow[]>(text, ...values);
  const answer = await storeReport(db, exec, 'id', o.actor.hostId, o.report, o.now ?? new Date());
  if (!answer) throw new AppError('UNAUTHORIZED', REVOKED);
  return answer;
}

/**
 * The same for the host whose credential hashes to `credentialHash`, in one
 * statement with the credential check (server/serve/leanReport.ts); null
 * when no live host holds that credential (the caller then answers as the
 * procedure would: UNAUTHORIZED).
 */
export function handleReportByCredential(o: { db: Db; exec: ReportExec; credentialHash: string; report: Report; now?: Date }) {
  return storeReport(o.db, o.exec, 'credential', o.credentialHash, o.report, o.now ?? new Date());
}
