'use client';
// Deploy a farm: the plan (what changes on which host), the deploy button,
// then live progress "applied on N of M hosts" with each host's state and
// apply error, streamed by farm.deployProgress.
import { skipToken, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useState } from 'react';
import { ConfirmDialog } from '../_components/confirm-dialog.tsx';
import type { RouterOutputs } from '../lib/graph/elements.ts';
import { errorInfo, isStaleRevision, useTRPC, useTRPCClient } from '../lib/trpc.ts';
import { useAuthRedirect } from '../lib/use-auth-redirect.ts';
import { PlanTable } from './plan-table.tsx';
import { ProgressView } from './progress-view.tsx';

export type Progress = RouterOutputs['farm']['deployProgress'] extends AsyncIterable<infer T> ? T : never;

export function DeployPanel({ farmId }: { farmId: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const qc = useQueryClient();
  const farm = useQuery(trpc.farm.get.queryOptions({ id: farmId }));
  const plan = useQuery({ ...trpc.farm.plan.queryOptions({ id: farmId }), refetchOnWindowFocus: false });
  const history = useQuery(trpc.farm.deployments.queryOptions({ farmId, limit: 10 }));
  const me = useQuery(trpc.auth.me.queryOptions());
  useAuthRedirect(farm.error, plan.error);
  const [deploymentId, setDeploymentId] = useState<string | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmUndeploy, setConfirmUndeploy] = useState(false);
  const canDeploy = me.data && me.data.role !== 'viewer';

  const sub = useSubscription(
    trpc.farm.deployProgress.subscriptionOptions(deploymentId ? { id: deploymentId } : skipToken, {
      onData: (p) => {
        setProgress(p);
        if (p.complete) void refreshAll();
      },
    }),
  );

  const refreshAll = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: trpc.farm.get.queryKey({ id: farmId }) }),
      qc.invalidateQueries({ queryKey: trpc.farm.plan.queryKey({ id: farmId }) }),
      qc.invalidateQueries({ queryKey: trpc.farm.deployments.queryKey({ farmId, limit: 10 }) }),
    ]);

  const start = async (what: 'deploy' | 'undeploy') => {
    setBusy(true);
    setError(null);
    try {
      const r = what === 'deploy'
        ? await client.farm.deploy.mutate({ id: farmId, expectedRevision: plan.data?.revision, wait: false })
        : await client.farm.undeploy.mutate({ id: farmId, wait: false });
      setProgress(r.progress);
      setDeploymentId(r.deployment.id);
      if (r.warnings.length) setError(r.warnings.join(' '));
    } catch (e) {
      setError(isStaleRevision(e)
        ? `The farm changed since this plan was made (${errorInfo(e).message}). Look at the new plan and deploy again.`
        : errorInfo(e).message);
    } finally {
      setBusy(false);
      await refreshAll();
    }
  };

  const f = farm.data;
  const p = plan.data;
  return (
    <div className="deploy">
      <section aria-labelledby="plan-h" className="card">
        <div className="section-head">
          <h2 id="plan-h">Plan{p ? ` for revision ${p.revision}` : ''}</h2>
          <button type="button" className="secondary" onClick={() => void plan.refetch()} disabled={plan.isFetching}>
            {plan.isFetching ? 'Planning…' : 'Refresh plan'}
          </button>
        </div>
        {plan.error && errorInfo(plan.error).code !== 'UNAUTHORIZED' ? <p role="alert" className="error">{errorInfo(plan.error).message}</p> : null}
        {p ? <PlanTable plan={p} /> : plan.isLoading ? <p>Computing the plan…</p> : null}
        <div className="props-actions">
          <button type="button" onClick={() => void start('deploy')} disabled={!canDeploy || busy || !p || p.errors.length > 0}>
            {busy ? 'Starting…' : p ? `Deploy revision ${p.revision}` : 'Deploy'}
          </button>
          <button type="button" className="secondary" onClick={() => setConfirmUndeploy(true)} disabled={!canDeploy || busy || f?.deployedRevision === null}>
            Undeploy
          </button>
        </div>
        {error ? <p role="alert" className="error">{error}</p> : null}
      </section>

      {progress ? <ProgressView progress={progress} connection={sub.status} /> : null}

      <section aria-labelledby="hist-h" className="card">
        <h2 id="hist-h">Recent deployments</h2>
        {history.data?.items.length ? (
          <table>
            <thead><tr><th>When</th><th>Kind</th><th>Revision</th><th>Hosts</th><th>Completed</th><th /></tr></thead>
            <tbody>
              {history.data.items.map((d) => (
                <tr key={d.id}>
                  <td>{d.createdAt.toLocaleString()}</td>
                  <td>{d.kind}</td>
                  <td>{d.revision ?? '—'}</td>
                  <td>{d.targets.map((t) => t.host).join(', ') || 'none'}</td>
                  <td>{d.completedAt ? d.completedAt.toLocaleTimeString() : 'not yet'}</td>
                  <td><button type="button" className="link" onClick={() => { setProgress(null); setDeploymentId(d.id); }}>Show progress</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : <p>No deployments yet.</p>}
      </section>

      <ConfirmDialog open={confirmUndeploy} title={`Undeploy farm ${f?.name ?? ''}?`} confirmLabel="Undeploy" danger
        onCancel={() => setConfirmUndeploy(false)} onConfirm={() => { setConfirmUndeploy(false); void start('undeploy'); }}>
        <p>Every host removes this farm&apos;s VIFs, vnets, routers and firewalls. The design stays as it is.</p>
      </ConfirmDialog>
    </div>
  );
}
