// The console's side of the agent link: the stream of desired states an agent
// follows and the reports it sends back (liveness: hostLiveness.ts).
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { EVENT_CHANNEL, EventInbox, getEventBus } from '../events/index.ts';
import type { HostActor } from '../auth/actors.ts';
import type { HostState } from '../compile/index.ts';
import type { Report } from '../../contract/report.ts';
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
  completed: number;
}

/**
 * The report statement. `$1` picks the host: its id (`by: 'id'`, a caller
 * already authenticated) or the hash of the credential it presented
 * (`by: 'credential'`, the lean path: the credential check and the report in
 * one statement). Either way a revoked host, or one without a credential,
 * matches nothing and nothing is written.
 *
 * The same statement keeps the open deployments' counts of missing targets
 * (`Deployment.missing`): a report whose applied generation crosses the
 * generation a deployment gave its host (upwards: applied now; downwards, an
 * agent restored to an older state: missing again) changes that count by
 * one, found through the host's open targets (`DeploymentTarget`, by host
 * and generation) without reading any other target. The report that brings
 * the count to zero marks the deployment completed, drops its open targets
 * and announces `deployment.completed`, all delivered at commit. Two
 * reports of the same deployment wait for each other on its row, so each
 * adds to the count the other left.
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
     n AS (SELECT pg_notify($7, json_build_object('type', 'host.report', 'hostId', a.id, 'appliedGeneration', a.applied)::text) FROM a),
     x AS (SELECT t."deploymentId" AS id, sum(CASE WHEN t.generation <= a.applied THEN -1 ELSE 1 END)::int AS delta
             FROM a JOIN "DeploymentTarget" t ON t."hostId" = a.id
            WHERE a.applied <> a.prev AND t.generation > least(a.applied, a.prev) AND t.generation <= greatest(a.applied, a.prev)
            GROUP BY t."deploymentId"),
     d AS (UPDATE "Deployment" SET missing = "Deployment".missing + x.delta,
             "completedAt" = CASE WHEN "Deployment".missing + x.delta <= 0 THEN $4::timestamptz END
           FROM x WHERE "Deployment".id = x.id AND "Deployment"."completedAt" IS NULL
           RETURNING "Deployment".id, "Deployment"."completedAt"),
     dt AS (DELETE FROM "DeploymentTarget" t USING d WHERE t."deploymentId" = d.id AND d."completedAt" IS NOT NULL),
     dn AS (SELECT pg_notify($7, json_build_object('type', 'deployment.completed', 'deploymentId', d.id)::text) FROM d WHERE d."completedAt" IS NOT NULL)
     SELECT a.id::text AS "hostId", a.desired, a.prev, a.applied, (SELECT count(*) FROM r)::int AS stored, (SELECT count(*) FROM u)::int AS updated,
            (SELECT count(*) FROM n)::int AS told, (SELECT count(*) FROM dn)::int AS completed FROM a`;
const REPORT_BY_ID = reportSql('id');
const REPORT_BY_CREDENTIAL = reportSql('credential');

/** Stores a report for the host `key` names (see reportSql); null when no live host matches. */
async function storeReport(exec: ReportExec, by: 'id' | 'credential', key: string, report: Report, now: Date) {
  const { appliedGeneration, capabilities, ...rest } = report;
  const rows = await exec(
    by === 'id' ? 'softudc_report_by_id' : 'softudc_report_by_credential',
    by === 'id' ? REPORT_BY_ID : REPORT_BY_CREDENTIAL,
    [key, appliedGeneration, JSON.stringify(rest), now, report.agentVersion, capabilities ? JSON.stringify(capabilities) : null, EVENT_CHANNEL],
  );
  const row = rows[0];
  if (!row || Number(row.updated) !== 1) return null;
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
  const answer = await storeReport(exec, 'id', o.actor.hostId, o.report, o.now ?? new Date());
  if (!answer) throw new AppError('UNAUTHORIZED', REVOKED);
  return answer;
}

/**
 * The same for the host whose credential hashes to `credentialHash`, in one
 * statement with the credential check (server/serve/leanReport.ts); null
 * when no live host holds that credential (the caller then answers as the
 * procedure would: UNAUTHORIZED).
 */
export function handleReportByCredential(o: { exec: ReportExec; credentialHash: string; report: Report; now?: Date }) {
  return storeReport(o.exec, 'credential', o.credentialHash, o.report, o.now ?? new Date());
}
