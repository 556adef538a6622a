// Agents' reports into the database: one statement stores a batch of
// reports, each for the host its own key names. A fleet of 1,000 agents
// sends hundreds of reports a second, and a deploy brings 1,000 in a second
// or two, each changing the same deployment's count of missing targets: one
// statement per report made them queue on that deployment's row (each
// holding a pooled connection while it waited), so the reports that arrive
// in the same event-loop turn on the lean path are stored together.
import type { Report } from '../../contract/report.ts';
import { EVENT_CHANNEL } from '../events/index.ts';
import { batchPerTurn } from './turnBatch.ts';

/** Runs one statement; `name` makes it a prepared statement where the driver has them (raw pg). */
export type ReportExec = (name: string, text: string, values: unknown[]) => Promise<unknown[]>;

interface ReportRow {
  n: number;
  desired: number;
  updated: boolean;
}

/**
 * The report statement over a batch (`$1`, a JSON array of [key, applied
 * generation, report, agent version, capabilities]). The key picks the host:
 * its id (`by: 'id'`, a caller already authenticated) or the hash of the
 * credential it presented (`by: 'credential'`, the lean path: the credential
 * check and the report in one statement). Either way a revoked host, or one
 * without a credential, matches nothing and nothing is written for that
 * report; no report can name another host than its key's. A batch holds a
 * host once.
 *
 * The same statement keeps the open deployments' counts of missing targets
 * (`Deployment.missing`): a report whose applied generation crosses the
 * generation a deployment gave its host (upwards: applied now; downwards, an
 * agent restored to an older state: missing again) changes that count by
 * one, found through the host's open targets (`DeploymentTarget`, by host
 * and generation) without reading any other target. The statement that
 * brings the count to zero marks the deployment completed, drops its open
 * targets and announces `deployment.completed`, all delivered at commit.
 * Two statements changing the same deployment wait for each other on its
 * row, so each adds to the count the other left.
 *
 * Row locks are taken in one order by every such statement, hosts by id and
 * then deployments by id (`h` and `dl` below), so two batches whose hosts share
 * several open deployments queue on the first one they share instead of each
 * holding one the other waits for (a deadlock: Postgres would abort one
 * batch, failing every report in it).
 */
const reportSql = (by: 'id' | 'credential') => `WITH i AS (
       SELECT n, v->>0 AS key, (v->>1)::int4 AS gen, v->2 AS report, v->>3 AS version, v->4 AS caps FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, n)),
     h AS (
       SELECT i.n, h.id, h."desiredGeneration" AS desired, h."appliedGeneration" AS prev, i.gen, i.report, i.version, i.caps
         FROM i JOIN "Host" h ON ${by === 'id' ? 'h.id = i.key::uuid' : 'h."credentialHash" = i.key'}
        WHERE h.status <> 'revoked' AND h."credentialHash" IS NOT NULL ORDER BY h.id FOR UPDATE OF h),
     -- An agent ahead of the console (its database was restored) has not applied
     -- anything this console asked for: keep the last real value until it catches up.
     a AS (SELECT h.*, CASE WHEN gen <= desired THEN gen ELSE prev END AS applied FROM h),
     r AS (INSERT INTO "HostReport" ("hostId", "appliedGeneration", report, "receivedAt") SELECT id, gen, report, $2::timestamptz FROM a
           ON CONFLICT ("hostId") DO UPDATE SET "appliedGeneration" = EXCLUDED."appliedGeneration", report = EXCLUDED.report, "receivedAt" = EXCLUDED."receivedAt"
           RETURNING "hostId"),
     u AS (UPDATE "Host" SET "appliedGeneration" = a.applied, "lastSeenAt" = $2::timestamptz, status = 'online', "agentVersion" = a.version,
             capabilities = coalesce(nullif(a.caps, 'null'::jsonb), "Host".capabilities), "updatedAt" = $2::timestamptz
           FROM a WHERE "Host".id = a.id RETURNING "Host".id),
     -- Delivered at commit, like publish().
     nt AS (SELECT pg_notify($3, json_build_object('type', 'host.report', 'hostId', a.id, 'appliedGeneration', a.applied)::text) FROM a),
     x AS (SELECT t."deploymentId" AS id, sum(CASE WHEN t.generation <= a.applied THEN -1 ELSE 1 END)::int AS delta
             FROM a JOIN "DeploymentTarget" t ON t."hostId" = a.id
            WHERE a.applied <> a.prev AND t.generation > least(a.applied, a.prev) AND t.generation <= greatest(a.applied, a.prev)
            GROUP BY t."deploymentId"),
     -- Locked in id order before any is changed (the UPDATE alone would take them in its join's order).
     dl AS (SELECT id FROM "Deployment" WHERE id IN (SELECT id FROM x) AND "completedAt" IS NULL ORDER BY id FOR UPDATE),
     d AS (UPDATE "Deployment" SET missing = "Deployment".missing + x.delta,
             "completedAt" = CASE WHEN "Deployment".missing + x.delta <= 0 THEN $2::timestamptz END
           FROM x JOIN dl ON dl.id = x.id WHERE "Deployment".id = x.id AND "Deployment"."completedAt" IS NULL
           RETURNING "Deployment".id, "Deployment"."completedAt"),
     dt AS (DELETE FROM "DeploymentTarget" t USING d WHERE t."deploymentId" = d.id AND d."completedAt" IS NOT NULL),
     dn AS (SELECT pg_notify($3, json_build_object('type', 'deployment.completed', 'deploymentId', d.id)::text) FROM d WHERE d."completedAt" IS NOT NULL)
     SELECT a.n::int AS n, a.desired, a.id IN (SELECT id FROM u) AS updated
       FROM a WHERE (SELECT count(*) FROM r) >= 0 AND (SELECT count(*) FROM nt) >= 0 AND (SELECT count(*) FROM dn) >= 0`;
const REPORT_BY_ID = reportSql('id');
const REPORT_BY_CREDENTIAL = reportSql('credential');

export interface KeyedReport {
  key: string;
  report: Report;
}

/** Stores reports, each for the host its key names; per report, null when no live host matches. */
export async function storeReports(exec: ReportExec, by: 'id' | 'credential', reports: readonly KeyedReport[], now: Date) {
  const batch = reports.map(({ key, report }) => {
    const { appliedGeneration, capabilities, ...rest } = report;
    return [key, appliedGeneration, rest, report.agentVersion, capabilities ?? null];
  });
  const rows = (await exec(
    by === 'id' ? 'softudc_reports_by_id' : 'softudc_reports_by_credential',
    by === 'id' ? REPORT_BY_ID : REPORT_BY_CREDENTIAL,
    [JSON.stringify(batch), now, EVENT_CHANNEL],
  )) as ReportRow[];
  const byN = new Map(rows.map((r) => [Number(r.n), r]));
  return reports.map((_r, j) => {
    const row = byN.get(j + 1);
    return row?.updated ? { desiredGeneration: row.desired } : null;
  });
}

interface Waiting extends KeyedReport {
  resolve(v: { desiredGeneration: number } | null): void;
  reject(e: unknown): void;
}

/** Reports per statement. */
const BATCH = 200;
const queues = new WeakMap<ReportExec, Waiting[]>();

async function flush(exec: ReportExec, waiting: Waiting[]): Promise<void> {
  while (waiting.length) {
    // A host once per statement: a second report of the same credential goes in the next one.
    const seen = new Set<string>();
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const w of waiting) (batch.length < BATCH && !seen.has(w.key) ? (seen.add(w.key), batch) : rest).push(w);
    waiting = rest;
    try {
      const answers = await storeReports(exec, 'credential', batch, new Date());
      batch.forEach((w, j) => w.resolve(answers[j]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}

/**
 * Stores the report of the host whose credential hashes to `credentialHash`
 * with the other reports of the same event-loop turn, in one statement;
 * null when no live host holds that credential.
 */
export function storeReportBatched(exec: ReportExec, credentialHash: string, report: Report): Promise<{ desiredGeneration: number } | null> {
  return new Promise((resolve, reject) => batchPerTurn(queues, exec, { key: credentialHash, report, resolve, reject }, flush));
}
