// `softudc deploy FARM --wait` and `apply --deploy --wait`: start a deploy,
// then follow its progress stream (farm.deployProgress) until every target
// host applied its generation (exit 0), a host reports it cannot apply it
// (exit 7, naming the host and the agent's error), or the timeout (exit 8,
// naming every host that had not applied).
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../server/routers/_app.ts';
import { allPages, pageOf, type Api } from './api.ts';
import { CliError, EXIT, type ExitCode } from './errors.ts';
import { Progress } from './output.ts';

type DeployProgress = inferRouterOutputs<AppRouter>['farm']['deployProgress'] extends AsyncIterable<infer T> ? T : never;
type DeployResult = inferRouterOutputs<AppRouter>['farm']['deploy'];

export interface DeployOptions {
  wait: boolean;
  timeoutMs: number;
  expectedRevision?: number | undefined;
  json: boolean;
}

export interface DeployOutcome {
  exitCode: ExitCode;
  deployment: DeployResult['deployment'];
  progress: DeployResult['progress'];
  timedOut: boolean;
  /** What went wrong, one line per host (empty on success). */
  failures: string[];
}

const failedHosts = (p: DeployProgress) => p.hosts.filter((h) => !h.applied && h.error !== null);

/** Follows a deployment until it completes, a host fails, or `timeoutMs` passes. */
function follow(api: Api, id: string, first: DeployProgress, timeoutMs: number, show: (p: DeployProgress) => void) {
  return new Promise<{ last: DeployProgress; timedOut: boolean }>((resolve, reject) => {
    let last = first;
    let ended = false;
    const end = (f: () => void) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      sub.unsubscribe();
      f();
    };
    const timer = setTimeout(() => end(() => resolve({ last, timedOut: true })), timeoutMs);
    const sub = api.farm.deployProgress.subscribe(
      { id },
      {
        onData(p) {
          last = p;
          show(p);
          if (p.complete || failedHosts(p).length) end(() => resolve({ last, timedOut: false }));
        },
        onError(err) {
          end(() => reject(err));
        },
      },
    );
  });
}

/** The farm's latest deployment that some host has not applied yet (oldest first, so the last one seen). */
async function pendingDeployment(api: Api, farmId: string) {
  const all = await allPages((c) => api.farm.deployments.query({ farmId, ...pageOf(c) }));
  return all.filter((d) => d.completedAt === null && d.targets.length).at(-1) ?? null;
}

const appliedLine = (p: DeployProgress) => `applied on ${p.applied} of ${p.total} host${p.total === 1 ? '' : 's'}`;

export async function deployFarm(api: Api, farm: { id: string; name: string }, o: DeployOptions): Promise<DeployOutcome> {
  const r = await api.farm.deploy.mutate({ id: farm.id, wait: false, ...(o.expectedRevision !== undefined ? { expectedRevision: o.expectedRevision } : {}) });
  const progress = new Progress(process.stderr);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  for (const w of r.warnings) log(`warning: ${w}`);
  const targets = r.deployment.targets.length;
  log(`farm ${farm.name}: deploying revision ${r.deployment.revision} (deployment ${r.deployment.id}, ${targets} host${targets === 1 ? '' : 's'} to update)`);
  const base = { deployment: r.deployment, timedOut: false };
  if (!o.wait) return { ...base, exitCode: EXIT.ok, progress: r.progress, failures: [] };

  let last: DeployProgress = r.progress;
  let timedOut = false;
  let following = r.deployment.id;
  if (!targets) {
    // Nothing new to send: every host already has this revision as its desired state. Whether they all applied it is
    // the question of the deployment that sent it, if one is still open.
    const pending = await pendingDeployment(api, farm.id);
    if (pending) {
      log(`revision ${r.deployment.revision} was sent before (deployment ${pending.id}); waiting for its hosts`);
      following = pending.id;
      last = { ...last, complete: false };
    }
  }
  progress.show(appliedLine(last));
  if (!last.complete && !failedHosts(last).length) {
    ({ last, timedOut } = await follow(api, following, last, o.timeoutMs, (p) => progress.show(appliedLine(p))));
  }
  progress.done();

  const failed = failedHosts(last);
  if (failed.length) {
    const failures = failed.map((h) => `host ${h.host} cannot apply generation ${h.generation}: ${h.error}`);
    return { ...base, exitCode: EXIT.deployFailed, progress: last, failures };
  }
  if (!last.complete) {
    const failures = last.hosts
      .filter((h) => !h.applied)
      .map((h) => `host ${h.host} (${h.status}) has not applied generation ${h.generation} (it applied ${h.appliedGeneration})`);
    return { ...base, timedOut, exitCode: EXIT.timeout, progress: last, failures };
  }
  return { ...base, exitCode: EXIT.ok, progress: last, failures: [] };
}

/** Prints the outcome (a JSON document with --json) and turns a failure into its exit code. */
export function reportDeploy(out: DeployOutcome, o: DeployOptions): void {
  if (o.json) process.stdout.write(`${JSON.stringify({ deployment: out.deployment, progress: out.progress, timedOut: out.timedOut, failures: out.failures }, null, 2)}\n`);
  else if (o.wait && out.exitCode === EXIT.ok) process.stdout.write(`${appliedLine(out.progress)}: deployment complete\n`);
  else if (!o.wait) process.stdout.write(`deployment ${out.deployment.id} started (${out.deployment.targets.length} hosts to update)\n`);
  if (out.exitCode === EXIT.ok) return;
  const head = out.exitCode === EXIT.timeout ? `timed out after ${o.timeoutMs / 1000} s: ${appliedLine(out.progress)}` : `deploy failed: ${appliedLine(out.progress)}`;
  throw new CliError(out.exitCode, [head, ...out.failures.map((f) => `  ${f}`)].join('\n'));
}
