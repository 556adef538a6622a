'use client';
// Live topology: the physical view (segments, hosts, VMs, tunnels with
// packet rates), the virtual view of one farm (VMs coloured by state) and a
// table view for graphs too large to read as drawings. Agent reports arrive
// by subscription; each view turns them into elements and the canvas applies
// only the difference.
import { useQueries, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useMemo } from 'react';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { tunnels, vmStates, type HostLite } from '../lib/graph/live.ts';
import { placedVms } from '../lib/graph/physical.ts';
import { errorInfo, useTRPC } from '../lib/trpc.ts';
import { useAuthRedirect } from '../lib/use-auth-redirect.ts';
import { PhysicalView } from './physical-view.tsx';
import { TableView } from './table-view.tsx';
import { useHostReports } from './use-host-reports.ts';
import { VirtualView } from './virtual-view.tsx';
import { useMigration } from './use-migration.tsx';

/** Above this many VMs the page opens on the table; the drawings stay one click away. */
const TABLE_FIRST_VMS = 1500;
const VIEWS = [
  { id: 'physical', label: 'Physical' },
  { id: 'virtual', label: 'Virtual' },
  { id: 'table', label: 'Table' },
] as const;
type ViewId = (typeof VIEWS)[number]['id'];

export function Topology() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const hostsQ = useQuery({ ...trpc.host.list.queryOptions({ limit: 200 }), refetchInterval: 10_000 });
  const farmsQ = useQuery({ ...trpc.farm.list.queryOptions({ limit: 200 }), refetchInterval: 10_000 });
  useAuthRedirect(hostsQ.error, farmsQ.error);
  const details = useQueries({
    queries: (farmsQ.data?.items ?? []).map((f) => ({ ...trpc.farm.get.queryOptions({ id: f.id }), refetchInterval: 10_000 })),
  });
  const farms = useMemo(() => details.flatMap((d) => (d.data ? [d.data as FarmDetail] : [])), [details]);
  const live = useHostReports({ detail: 'full' });

  const hosts: HostLite[] = useMemo(
    () =>
      (hostsQ.data?.items ?? []).map((h) => {
        const r = live.reports.get(h.id);
        // The report stream has the freshest liveness and generations.
        return r ? { ...h, status: r.status, appliedGeneration: r.appliedGeneration, desiredGeneration: r.desiredGeneration } : h;
      }),
    [hostsQ.data, live.reports],
  );
  const states = useMemo(() => vmStates(farms, hosts, live.reports), [farms, hosts, live.reports]);
  const tunnelList = useMemo(() => tunnels(farms, hosts, live.reports), [farms, hosts, live.reports]);
  const vms = useMemo(() => placedVms(farms, states), [farms, states]);
  const migration = useMigration(farms, hosts);

  const vmCount = farms.reduce((n, f) => n + f.vms.length, 0);
  const view: ViewId = (params.get('view') as ViewId | null) ?? (params.get('farm') ? 'virtual' : vmCount > TABLE_FIRST_VMS ? 'table' : 'physical');
  const farmId = params.get('farm') ?? farms.find((f) => f.deployedRevision !== null)?.id ?? farms[0]?.id ?? null;
  const go = (next: Record<string, string>) => {
    const q = new URLSearchParams(params.toString());
    for (const [k, v] of Object.entries(next)) q.set(k, v);
    router.replace(`${pathname}?${q.toString()}`);
  };
  const farm = farms.find((f) => f.id === farmId) ?? null;

  return (
    <section className="topology">
      <div className="section-head">
        <h1>Live topology</h1>
        <div role="tablist" aria-label="View" className="tabs">
          {VIEWS.map((v) => (
            <button key={v.id} type="button" role="tab" aria-selected={view === v.id} className={view === v.id ? 'tab active' : 'tab'} onClick={() => go({ view: v.id })}>
              {v.label}
            </button>
          ))}
        </div>
        <span className="live-state" role="status">
          {live.status === 'pending' ? 'live' : live.status === 'connecting' ? 'connecting…' : live.status === 'error' ? `disconnected: ${errorInfo(live.error).message}` : live.status}
          {' · '}{hosts.length} hosts · {vmCount} VMs · {tunnelList.length} tunnels
        </span>
      </div>
      <Legend />
      {migration.banner}
      {view === 'physical' ? (
        <PhysicalView hosts={hosts} vms={vms} tunnels={tunnelList} rates={live.rates} onMigrate={migration.request} canMigrate={migration.allowed} />
      ) : view === 'virtual' ? (
        <div>
          <label className="inline-label">
            Farm
            <select value={farmId ?? ''} onChange={(e) => go({ farm: e.target.value, view: 'virtual' })}>
              {farms.map((f) => <option key={f.id} value={f.id}>{f.name}{f.deployedRevision === null ? ' (not deployed)' : ''}</option>)}
            </select>
          </label>
          {farm ? (
            <>
              {farm.revision !== farm.deployedRevision && farm.deployedRevision !== null ? (
                <p className="hint">The design (revision {farm.revision}) has changes not deployed yet (deployed: {farm.deployedRevision}). <Link href={`/farms/${farm.id}/deploy`}>Deploy…</Link></p>
              ) : null}
              <VirtualView farm={farm} states={states} />
            </>
          ) : <p>No farms yet.</p>}
        </div>
      ) : (
        <TableView hosts={hosts} farms={farms} states={states} tunnels={tunnelList} rates={live.rates} onMigrate={migration.request} canMigrate={migration.allowed} />
      )}
      {migration.dialog}
    </section>
  );
}

function Legend() {
  return (
    <ul className="legend" aria-label="Legend">
      {(['running', 'pending', 'down', 'undeployed', 'unplaced'] as const).map((s) => (
        <li key={s}><span className={`dot ${s}`} aria-hidden="true" />{s}</li>
      ))}
    </ul>
  );
}
