'use client';
// A selected firewall's live state from the agent running it
// (firewall.inspect): its rules in order with their hit counters, the
// default policy's hits, and the connection table's counts with the first
// connections. Shown below the firewall's rules editor.
import { useQuery } from '@tanstack/react-query';
import type { FirewallViewData } from '../../contract/commands.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { useTRPC } from '../lib/trpc.ts';
import { CountersTable, LiveFrame, liveQueryOptions, toLiveQuery, useLiveOpen } from './live-common.tsx';
import { connectionSummary, formatAge, ruleMatch } from './live-format.ts';

/** Connections listed in the panel; the rest are counted (the API sends at most 100). */
const CONNECTIONS_SHOWN = 20;

export function LiveFirewall({ farm, firewallId }: { farm: FarmDetail; firewallId: string }) {
  const trpc = useTRPC();
  const deployed = farm.deployedRevision != null;
  const [open, toggle] = useLiveOpen();
  const q = useQuery({ ...trpc.firewall.inspect.queryOptions({ id: firewallId }), ...liveQueryOptions(deployed && open) });
  const view = q.data?.view;
  const query = toLiveQuery(q, (d) => d.firewall.host.name);
  return (
    <LiveFrame deployed={deployed} open={open} onToggle={toggle} query={query} testId="live-firewall">
      {view ? (
        <>
          <RuleHits view={view} />
          <ConnectionsView connections={view.connections} />
          <CountersTable counters={view.counters} />
        </>
      ) : null}
    </LiveFrame>
  );
}

function RuleHits({ view }: { view: FirewallViewData }) {
  return (
    <>
      <h3>Rules</h3>
      <table className="live-table" aria-label="Rule hits" data-testid="live-rules">
        <thead><tr><th scope="col">#</th><th scope="col">Action</th><th scope="col">Match</th><th scope="col" className="num">Hits</th></tr></thead>
        <tbody>
          {view.rules.map((r) => (
            <tr key={r.index}>
              <th scope="row">{r.index + 1}</th>
              <td><span className={`badge ${r.action === 'allow' ? 'ok' : 'down'}`}>{r.action}</span></td>
              <td>{ruleMatch(r)}</td>
              <td className="num">{r.hits.toLocaleString('en-US')}</td>
            </tr>
          ))}
          <tr data-testid="live-default-policy">
            <th scope="row">—</th>
            <td><span className={`badge ${view.defaultPolicy === 'allow' ? 'ok' : 'down'}`}>{view.defaultPolicy}</span></td>
            <td>default policy (no rule matched)</td>
            <td className="num">{view.defaultHits.toLocaleString('en-US')}</td>
          </tr>
        </tbody>
      </table>
    </>
  );
}

function ConnectionsView({ connections: c }: { connections: FirewallViewData['connections'] }) {
  const states = Object.entries(c.byState).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const shown = c.sample.slice(0, CONNECTIONS_SHOWN);
  return (
    <>
      <h3>Connections</h3>
      <p data-testid="live-connections">{connectionSummary(c)}</p>
      {states.length ? <p className="hint">By state: {states.map(([s, n]) => `${s} ${n}`).join(', ')}</p> : null}
      {shown.length ? (
        <div className="table-scroll">
          <table className="live-table" aria-label="Connections">
            <thead><tr><th scope="col">Flow</th><th scope="col">State</th><th scope="col">Rule</th><th scope="col" className="num">Packets</th><th scope="col">Expires</th></tr></thead>
            <tbody>
              {shown.map((x, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a read-only table replaced as a whole on each refresh
                <tr key={i}>
                  <th scope="row">{x.protocol} {x.from} → {x.to}</th>
                  <td>{x.state}</td>
                  <td>{x.rule === 'default' ? 'default' : x.rule + 1}</td>
                  <td className="num">{x.packets[0]} / {x.packets[1]}</td>
                  <td>{x.expiresInMs > 0 ? `in ${formatAge(x.expiresInMs)}` : 'now'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {c.total > shown.length && shown.length ? <p className="hint">{shown.length} of {c.total} connections shown.</p> : null}
    </>
  );
}
