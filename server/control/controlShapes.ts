// The shapes of the control loop as the API shows them: hosts' latest
// reports, deployments with their progress, and plans. Procedures declare
// these as inputs and outputs; subscriptions validate every value they yield
// against them.
import { z } from 'zod';
import { documentChangeView } from '../farms/documentDiff.ts';
import {
  applyErrorSchema, reportAnswerSchema, reportHealthSchema, reportLeaseSchema, reportServiceVnetSchema, reportVarpSchema, reportVifSchema,
} from '../../contract/report.ts';

// The documents agents exchange with the console are the contract's
// (contract/): `agent.desired` yields desiredMessageSchema, `agent.report`
// takes reportSchema. What follows are the console's own views of them.

export const reportOutput = reportAnswerSchema;

const hostStatus = z.enum(['pending', 'online', 'offline', 'revoked']);

/**
 * The latest report of one host; `vifs` and `varp` only in full detail, and
 * only those on the caller's tenant's vnets (counts likewise).
 */
export const hostReportView = z.object({
  hostId: z.string(),
  host: z.string(),
  /** Computed on read: an online host silent for three report intervals shows offline. */
  status: hostStatus,
  lastSeenAt: z.date().nullable(),
  agentVersion: z.string().nullable(),
  desiredGeneration: z.int(),
  appliedGeneration: z.int(),
  report: z
    .object({
      receivedAt: z.date(),
      appliedGeneration: z.int(),
      uptimeS: z.number(),
      health: reportHealthSchema,
      applyError: applyErrorSchema,
      counters: z.record(z.string(), z.number()),
      vifCount: z.int(),
      varpCount: z.int(),
      vifs: z.array(reportVifSchema).optional(),
      varp: z.array(reportVarpSchema).optional(),
      /** DHCP and DNS per vnet of the caller's tenant (`name`: farm/vnet; absent from older agents); the leases only in full detail. */
      services: z.object({ vnets: z.array(reportServiceVnetSchema.extend({ name: z.string() })), leases: z.array(reportLeaseSchema).optional() }).optional(),
    })
    .nullable(),
});
export type HostReportView = z.infer<typeof hostReportView>;

// ---- deployments ----

export const deploymentKind = z.enum(['deploy', 'undeploy', 'migrate']);
export const deploymentTarget = z.object({ hostId: z.string(), host: z.string(), generation: z.int() });
export type DeploymentTarget = z.infer<typeof deploymentTarget>;

export const deploymentView = z.object({
  id: z.string(),
  farmId: z.string(),
  kind: deploymentKind,
  /** deploy and migrate: the revision deployed; undeploy: the revision taken down. */
  revision: z.int().nullable(),
  /** The hosts whose generation this deployment changed, and the generation each must apply. */
  targets: z.array(deploymentTarget),
  createdById: z.string().nullable(),
  createdAt: z.date(),
  completedAt: z.date().nullable(),
});
export type DeploymentView = z.infer<typeof deploymentView>;

export const hostProgressView = z.object({
  hostId: z.string(),
  host: z.string(),
  generation: z.int(),
  appliedGeneration: z.int(),
  applied: z.boolean(),
  status: hostStatus,
  /** The agent's apply error for this generation (or a later one), while not applied. */
  error: z.string().nullable(),
});

export const deploymentProgressView = z.object({
  deploymentId: z.string(),
  farmId: z.string(),
  kind: deploymentKind,
  revision: z.int().nullable(),
  total: z.int(),
  applied: z.int(),
  complete: z.boolean(),
  completedAt: z.date().nullable(),
  hosts: z.array(hostProgressView),
});
export type DeploymentProgress = z.infer<typeof deploymentProgressView>;

/** Outcome of deploy, undeploy and migrate; with `wait`, after every target applied or the timeout. */
export const deployResultView = z.object({
  deployment: deploymentView,
  progress: deploymentProgressView,
  waited: z.boolean(),
  timedOut: z.boolean(),
  /** Target hosts that had not applied their generation when the call returned. */
  missing: z.array(z.string()),
  warnings: z.array(z.string()),
});
export type DeployResult = z.infer<typeof deployResultView>;

export const waitInput = {
  wait: z.boolean().default(false),
  timeoutMs: z.int().min(0).max(600_000).default(30_000),
};

// ---- plans ----

const itemDiff = z.object({ added: z.array(z.string()), changed: z.array(z.string()), removed: z.array(z.string()) });
export const hostDiffView = z.object({
  host: z.string(),
  kind: z.enum(['added', 'changed', 'removed', 'unchanged']),
  vifs: itemDiff,
  vnets: itemDiff,
  routers: itemDiff,
  firewalls: itemDiff,
  underlayChanged: z.boolean(),
});

export const planView = z.object({
  farmId: z.string(),
  /** The revision the plan deploys (the current intent's revision unless one was given). */
  revision: z.int(),
  deployedRevision: z.int().nullable(),
  /** Only hosts whose state would change. */
  hosts: z.array(hostDiffView),
  unchangedHosts: z.int(),
  /**
   * This farm's placements per host (by name), checked against what each
   * host declared it runs: `errors` a deploy refuses, `warnings` it could not
   * check (the host never declared its guest kinds). Hosts with neither are left out.
   */
  hostChecks: z.array(z.object({ host: z.string(), errors: z.array(z.string()), warnings: z.array(z.string()) })),
  /** Every placement error of `hostChecks`: while there is one, farm.deploy of this revision is refused. */
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});
export type PlanView = z.infer<typeof planView>;

/** A farm document against what is stored (farm.planDocument). */
export const documentPlanView = z.object({
  /** The farm the document names; null: none yet (an apply creates it). */
  farmId: z.string().nullable(),
  name: z.string(),
  /** The stored revision planned against: what apply takes as `expectedRevision` (null: create). */
  revision: z.int().nullable(),
  deployedRevision: z.int().nullable(),
  /** What applying the document changes in the farm's model; empty: nothing. */
  changes: z.array(documentChangeView),
  /** What a deploy of the applied farm would change per host (only hosts that change). */
  hosts: z.array(hostDiffView),
  unchangedHosts: z.int(),
  hostChecks: planView.shape.hostChecks,
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});
export type DocumentPlanView = z.infer<typeof documentPlanView>;
