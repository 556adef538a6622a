'use client';
// The frame of a router's or firewall's live view in the properties panel,
// and the tables both kinds share. The view is asked of the agent running the
// node (router.inspect / firewall.inspect), so it exists only once the farm is
// deployed; while the section is open it refreshes every few seconds.
import { useId, useState, type ReactNode } from 'react';
import type { RouterViewData } from '../../contract/commands.ts';
import { errorInfo } from '../lib/trpc.ts';
import { counterRows, formatAge, routeRows } from './live-format.ts';

/** How often an open live section asks the agent again. */
export const LIVE_REFRESH_MS = 5_000;

export interface LiveQuery {
  data: { fetchedAt: Date; host: string } | undefined;
  error: unknown;
  isFetching: boolean;
  refetch(): unknown;
}

/**
 * Query settings of a live section: it asks only while deployed and open,
 * refreshes on a timer, and shows an offline host or an undeployed node as
 * an answer now instead of retrying.
 */
export function liveQueryOptions(enabled: boolean) {
  return { enabled, refetchInterval: LIVE_REFRESH_MS, refetchOnWindowFocus: false, retry: false } as const;
}

/** What LiveFrame needs of an inspect query; `host` picks the node's host name from its answer. */
export function toLiveQuery<T extends { fetchedAt: Date }>(
  q: { data: T | undefined; error: unknown; isFetching: boolean; refetch(): unknown },
  host: (data: T) => string,
): LiveQuery {
  return { data: q.data ? { fetchedAt: q.data.fetchedAt, host: host(q.data) } : undefined, error: q.error, isFetching: q.isFetching, refetch: q.refetch };
}

/**
 * The "Live" section: heading, show/hide, refresh, where the answer came
 * from and any error. `children(open)` renders the tables while open; the
 * caller's query runs only while `open` (useLiveOpen).
 */
export function LiveFrame({ deployed, open, onToggle, query, testId, children }: {
  deployed: boolean; open: boolean; onToggle(): void; query: LiveQuery; testId: string; children: ReactNode;
}) {
  const headingId = useId();
  const bodyId = useId();
  return (
    <section className="live" aria-labelledby={headingId} data-testid={testId}>
      <div className="section-head">
        <h2 id={headingId}>Live</h2>
        {deployed ? (
          <>
            <button type="button" className="icon" aria-expanded={open} aria-controls={bodyId} onClick={onToggle}>{open ? 'Hide' : 'Show'}</button>
            {open ? (
              <button type="button" className="secondary" onClick={() => void query.refetch()} disabled={query.isFetching} data-testid={`${testId}-refresh`}>
                {query.isFetching ? 'Refreshing…' : 'Refresh'}
              </button>
            ) : null}
          </>
        ) : null}
      </div>
      {!deployed ? <p className="hint" data-testid={`${testId}-undeployed`}>Not deployed: deploy the farm to inspect it.</p> : null}
      {deployed && open ? (
        <div id={bodyId}>
          {query.error ? <p role="alert" className="error">{errorInfo(query.error).message}</p> : null}
          {query.data ? (
            <p className="hint" data-testid={`${testId}-fetched`}>
              From host {query.data.host} at {query.data.fetchedAt.toLocaleTimeString()}; refreshed every {LIVE_REFRESH_MS / 1000} s.
            </p>
          ) : !query.error ? <p className="hint">Asking the agent…</p> : null}
          {children}
        </div>
      ) : null}
    </section>
  );
}

/** Open by default; closing stops the refreshes (the query's `enabled`). */
export function useLiveOpen(): [boolean, () => void] {
  const [open, setOpen] = useState(true);
  return [open, () => setOpen((o) => !o)];
}

const cut = (shown: number, total: number, what: string) =>
  total > shown ? <p className="hint">{shown} of {total} {what} shown.</p> : null;

export function RoutesTable({ routes, total }: { routes: RouterViewData['routes']; total: number }) {
  const rows = routeRows(routes);
  return (
    <>
      <h3>Forwarding table</h3>
      {rows.length === 0 ? <p className="hint">No routes.</p> : (
        <div className="table-scroll">
          <table className="live-table" aria-label="Forwarding table" data-testid="live-routes">
            <thead><tr><th scope="col">Prefix</th><th scope="col">Next hop</th><th scope="col"><abbr title="Interface">Iface</abbr></th><th scope="col">Source</th><th scope="col" className="num">Metric</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key} data-source={r.source}>
                  <th scope="row">{r.prefix}</th><td>{r.nextHop}</td><td>{r.iface}</td><td>{r.source}</td><td className="num">{r.metric}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cut(routes.length, total, 'routes')}
    </>
  );
}

export function ArpTable({ arp, total }: { arp: RouterViewData['arp']; total: number }) {
  return (
    <>
      <h3>ARP cache</h3>
      {arp.length === 0 ? <p className="hint">Empty: nothing resolved yet.</p> : (
        <div className="table-scroll">
          <table className="live-table" aria-label="ARP cache" data-testid="live-arp">
            <thead><tr><th scope="col">IP</th><th scope="col">MAC</th><th scope="col"><abbr title="Interface">Iface</abbr></th><th scope="col">State</th><th scope="col">Age</th></tr></thead>
            <tbody>
              {arp.map((a) => (
                <tr key={`${a.iface} ${a.ip}`}>
                  <th scope="row">{a.ip}</th><td>{a.mac ?? '—'}</td><td>{a.iface}</td><td>{a.state}{a.queued ? ` (${a.queued} queued)` : ''}</td><td>{formatAge(a.ageMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cut(arp.length, total, 'entries')}
    </>
  );
}

export function CountersTable({ counters }: { counters: Readonly<Record<string, number>> }) {
  const { rows, zero } = counterRows(counters);
  return (
    <>
      <h3>Counters</h3>
      {rows.length === 0 ? null : (
        <table className="live-table" aria-label="Counters" data-testid="live-counters">
          <tbody>
            {rows.map((c) => <tr key={c.name}><th scope="row">{c.name}</th><td className="num">{c.value}</td></tr>)}
          </tbody>
        </table>
      )}
      {zero ? <p className="hint">{rows.length ? `${zero} more at zero.` : `All ${zero} counters at zero.`}</p> : null}
    </>
  );
}
