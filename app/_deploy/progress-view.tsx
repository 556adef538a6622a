'use client';
// Live progress of one deployment: "applied on N of M hosts", a bar, and
// each target host with its generation, liveness and apply error.
import type { Progress } from './deploy-panel.tsx';

export function ProgressView({ progress: p, connection }: { progress: Progress; connection: string }) {
  const pct = p.total === 0 ? 100 : Math.round((p.applied / p.total) * 100);
  return (
    <section aria-labelledby="progress-h" className="card">
      <h2 id="progress-h">{p.kind === 'undeploy' ? 'Undeploy' : p.kind === 'migrate' ? 'Migration' : 'Deployment'}{p.revision !== null ? ` of revision ${p.revision}` : ''}</h2>
      <p role="status" aria-live="polite" className="progress-line" data-testid="deploy-progress">
        {p.total === 0 ? 'Nothing to apply: no host changes.' : `Applied on ${p.applied} of ${p.total} host${p.total === 1 ? '' : 's'}`}
        {p.complete ? ' — complete' : connection === 'connecting' ? ' (connecting…)' : ''}
      </p>
      <div className="bar" role="progressbar" aria-label="Hosts applied" aria-valuemin={0} aria-valuemax={p.total} aria-valuenow={p.applied}>
        <div className="bar-fill" style={{ width: `${pct}%` }} />
      </div>
      {p.hosts.length ? (
        <table aria-label="Progress per host">
          <thead><tr><th>Host</th><th>Status</th><th>Generation</th><th>Applied</th><th>Error</th></tr></thead>
          <tbody>
            {p.hosts.map((h) => (
              <tr key={h.hostId} className={h.error ? 'has-error' : undefined}>
                <th scope="row">{h.host}</th>
                <td><span className={`badge ${h.status}`}>{h.status}</span></td>
                <td>{h.appliedGeneration} / {h.generation}</td>
                <td>{h.applied ? '✓ applied' : 'waiting'}</td>
                <td className={h.error ? 'error' : 'muted'}>{h.error ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
