'use client';
// The per-host diff of a plan: what each host would add, change and remove.
import type { RouterOutputs } from '../lib/graph/elements.ts';
import { planSummary } from './plan-summary.ts';

type Plan = RouterOutputs['farm']['plan'];
type Diff = Plan['hosts'][number]['vifs'];

function DiffCell({ d }: { d: Diff }) {
  if (!d.added.length && !d.changed.length && !d.removed.length) return <td className="muted">—</td>;
  return (
    <td>
      {d.added.length ? <div className="diff-add" title={d.added.join('\n')}>+{d.added.length} {d.added.slice(0, 3).join(', ')}{d.added.length > 3 ? '…' : ''}</div> : null}
      {d.changed.length ? <div className="diff-change" title={d.changed.join('\n')}>~{d.changed.length} {d.changed.slice(0, 3).join(', ')}{d.changed.length > 3 ? '…' : ''}</div> : null}
      {d.removed.length ? <div className="diff-remove" title={d.removed.join('\n')}>−{d.removed.length} {d.removed.slice(0, 3).join(', ')}{d.removed.length > 3 ? '…' : ''}</div> : null}
    </td>
  );
}

export function PlanTable({ plan }: { plan: Plan }) {
  return (
    <>
      <p>{planSummary(plan)}</p>
      {plan.errors.length ? (
        <div role="alert" className="error">
          <p>This plan cannot be deployed until these placements are fixed (move the VM, or change its guest kind):</p>
          <ul aria-label="Errors">{plan.errors.map((e) => <li key={e}>{e}</li>)}</ul>
        </div>
      ) : null}
      {plan.warnings.length ? (
        <ul className="warnings" aria-label="Warnings">{plan.warnings.map((w) => <li key={w}>{w}</li>)}</ul>
      ) : null}
      {plan.hosts.length ? (
        <div className="table-scroll">
          <table aria-label="Changes per host">
            <thead><tr><th>Host</th><th>Change</th><th>VIFs</th><th>Vnets</th><th>Routers</th><th>Firewalls</th><th>Underlay</th></tr></thead>
            <tbody>
              {plan.hosts.map((h) => (
                <tr key={h.host}>
                  <th scope="row">{h.host}</th>
                  <td><span className={`badge ${h.kind}`}>{h.kind}</span></td>
                  <DiffCell d={h.vifs} />
                  <DiffCell d={h.vnets} />
                  <DiffCell d={h.routers} />
                  <DiffCell d={h.firewalls} />
                  <td>{h.underlayChanged ? 'changes' : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
