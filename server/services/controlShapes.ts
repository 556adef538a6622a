// The shapes of the control loop as the API shows them: the state document an
// agent receives (docs/agent-state.md), the report it sends back, deployments
// with their progress, and plans. Procedures declare these as inputs and
// outputs; subscriptions validate every value they yield against them.
import { z } from 'zod';
import { capabilitiesInput } from './identityShapes.ts';
import { int32, text, uint32 } from '../../contract/primitives.ts';

// ---- the agent state document (server/compile/types.ts, plus generation) ----

const security = z.enum(['none', 'auth', 'conf']);
const guestKind = z.enum(['emulated', 'tap']);

export const hostStateView = z.looseObject({
  host: z.string(),
  generation: z.int().min(0),
  underlay: z.object({ address: z.string(), port: z.int(), multicast: z.string().nullable(), peers: z.array(z.string()) }),
  // Loose: sealing keys, VLAN bridges, gateways and limits ride along (server/compile/types.ts lists them).
  vnets: z.array(
    z.looseObject({ id: z.int(), name: z.string(), farm: z.string(), security, mtu: z.int(), peers: z.array(z.string()) }),
  ),
  vifs: z.array(
    z.looseObject({ id: z.string(), vnet: z.int(), mac: z.string(), ip: z.string(), version: z.int(), guest: z.object({ kind: guestKind }) }),
  ),
  routers: z.array(
    z.object({
      id: z.string(),
      interfaces: z.array(z.object({ vnet: z.int(), mac: z.string(), ip: z.string(), rip: z.boolean() })),
      staticRoutes: z.array(z.object({ destination: z.string(), nextHop: z.string(), metric: z.int() })),
      links: z.array(
        z.object({
          peer: z.string(),
          local: z.string(),
          remote: z.string(),
          rip: z.boolean(),
          vnet: z.int().nullable(),
          peerHost: z.string().nullable(),
        }),
      ),
    }),
  ),
  firewalls: z.array(
    z.object({
      id: z.string(),
      defaultPolicy: z.enum(['allow', 'deny']),
      interfaces: z.array(z.object({ name: z.string(), vnet: z.int(), mac: z.string(), ip: z.string() })),
      rules: z.array(
        z.object({
          action: z.enum(['allow', 'deny']),
          protocol: z.enum(['any', 'tcp', 'udp', 'icmp']),
          source: z.string(),
          destination: z.string(),
          portFrom: z.int().nullable(),
          portTo: z.int().nullable(),
          interface: z.string().nullable(),
          log: z.boolean(),
        }),
      ),
    }),
  ),
  relay: z.object({ enabled: z.boolean(), peers: z.array(z.string()), proxy: z.boolean() }).nullable(),
});

export const desiredView = z.object({ generation: z.int().min(0), state: hostStateView });
export type DesiredView = z.infer<typeof desiredView>;

// ---- the agent's report ----

/** Bounds keep one report (and the row it replaces) to a few megabytes. */
export const REPORT_MAX_VIFS = 10_000;
export const REPORT_MAX_VARP = 20_000;
export const REPORT_MAX_COUNTERS = 2_000;

export const reportInput = z.object({
  appliedGeneration: int32().min(0),
  agentVersion: text(64),
  uptimeS: z.number().min(0),
  /** What the agent can run now (root may have come or gone since enrollment); absent from older agents. */
  capabilities: capabilitiesInput.optional(),
  vifs: z
    .array(
      z.object({
        id: text(200),
        vnet: uint32(),
        mac: text(32),
        ip: text(64),
        version: int32().min(0),
        guest: z.looseObject({ kind: text(32) }),
      }),
    )
    .max(REPORT_MAX_VIFS),
  varp: z
    .array(
      z.object({
        vnet: uint32(),
        mac: text(32),
        ip: text(64).nullable(),
        coa: text(64),
        state: text(32),
        ageMs: z.number().min(0),
      }),
    )
    .max(REPORT_MAX_VARP),
  counters: z
    .record(text(200), z.number())
    .refine((c) => Object.keys(c).length <= REPORT_MAX_COUNTERS, `at most ${REPORT_MAX_COUNTERS} counters`),
  health: z.object({ status: z.enum(['ok', 'degraded']), messages: z.array(text(1000)).max(100) }),
  applyError: z.object({ generation: int32().min(0), message: text(2000) }).nullable(),
});
export type ReportInput = z.infer<typeof reportInput>;

export const reportOutput = z.object({ desiredGeneration: z.int().min(0) });

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
      health: reportInput.shape.health,
      applyError: reportInput.shape.applyError,
      counters: z.record(z.string(), z.number()),
      vifCount: z.int(),
      varpCount: z.int(),
      vifs: reportInput.shape.vifs.optional(),
      varp: reportInput.shape.varp.optional(),
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
