'use client';
// One host, live: status and generations, health, its VIFs, its VARP cache
// (vnet, MAC, IP, care-of address, state, age), DHCP leases and DNS answers
// per vnet, and its counters with rates.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Sparkline } from '../_components/sparkline.tsx';
import { formatRate } from '../lib/graph/rates.ts';
import { errorInfo, useTRPC } from '../lib/trpc.ts';
import { useAuthRedirect } from '../lib/use-auth-redirect.ts';
import { useHostReports } from './use-host-reports.ts';
import { guestKindsText } from '../lib/host-guests.ts';
import { HostServicesSection } from './host-services.tsx';
import { HostUpstreamForm } from './host-upstream.tsx';

function useNow(intervalMs: number) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

const age = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

export function HostDetail({ hostId }: { hostId: string }) {
  const trpc = useTRPC();
  const host = useQuery({ ...trpc.host.get.queryOptions({ id: hostId }), refetchInterval: 10_000 });
  const hosts = useQuery(trpc.host.list.queryOptions({ limit: 200 }));
  const me = useQuery(trpc.auth.me.queryOptions());
  useAuthRedirect(host.error);
  const live = useHostReports({ hostId, detail: 'full' });
  const r = live.reports.get(hostId);
  const body = r?.report ?? null;
  const history = live.history.get(hostId);
  const now = useNow(1000);
  const [filter, setFilter] = useState('');
  const [nonZero, setNonZero] = useState(true);
  const hostByAddress = useMemo(() => new Map((hosts.data?.items ?? []).map((h) => [h.address, h.name])), [hosts.data]);

  if (host.error && errorInfo(host.error).code !== 'UNAUTHORIZED') return <p role="alert" className="error">{errorInfo(host.error).message}</p>;
  const h = host.data;
  const since = body ? now - body.receivedAt.getTime() : 0;
  const counters = Object.entries(body?.counters ?? {})
    .filter(([name, v]) => (!nonZero || v !== 0) && (!filter || name.includes(filter)))
    .sort(([a], [b]) => a.localeCompare(b));

  return (
    <section className="host-detail">
      <h1>Host {h?.name ?? r?.host ?? ''}</h1>
      <dl className="facts wide">
        <dt>Status</dt><dd><span className={`badge ${r?.status ?? h?.status ?? ''}`}>{r?.status ?? h?.status ?? '…'}</span></dd>
        <dt>Care-of address</dt><dd>{h ? `${h.address}:${h.port}` : '…'}</dd>
        <dt>LAN segment</dt><dd>{h?.segmentName ?? '—'}</dd>
        <dt>Generation</dt><dd>applied {r?.appliedGeneration ?? h?.appliedGeneration ?? 0} of {r?.desiredGeneration ?? h?.desiredGeneration ?? 0}</dd>
        <dt>Agent</dt><dd>{r?.agentVersion ?? h?.agentVersion ?? '—'}{body ? `, up ${age(body.uptimeS * 1000)}` : ''}</dd>
        <dt>Guests it runs</dt><dd>{h ? guestKindsText(h.capabilities) : '…'}</dd>
        <dt>Last report</dt><dd>{body ? `${age(since)} ago` : 'none yet'}</dd>
        <dt>Health</dt>
        <dd>
          {body ? <span className={`badge ${body.health.status}`}>{body.health.status}</span> : '—'}
          {body?.health.messages.length ? <ul className="plain">{body.health.messages.map((m) => <li key={m}>{m}</li>)}</ul> : null}
          {body?.applyError ? <p className="error">Generation {body.applyError.generation} not applied: {body.applyError.message}</p> : null}
        </dd>
      </dl>
      <p className="live-state" role="status">{live.status === 'pending' ? 'Live: updates as the agent reports.' : `Report stream: ${live.status}`}</p>

      <h2>VIFs ({body?.vifs?.length ?? 0})</h2>
      <table aria-label="VIFs">
        <thead><tr><th>VIF</th><th>Vnet</th><th>MAC</th><th>IP</th><th>Location version</th><th>Guest</th><th>Path</th></tr></thead>
        <tbody>
          {(body?.vifs ?? []).map((v) => (
            <tr key={v.id}><th scope="row" title={`id ${v.id}`}>{v.name ?? v.id}</th><td>{v.vnet}</td><td><code>{v.mac}</code></td><td>{v.ip}</td><td>{v.version}</td><td>{guestText(v.guest)}</td><td>{pathText(v.path)}</td></tr>
          ))}
          {!body?.vifs?.length ? <tr><td colSpan={7}>No VIFs on this host.</td></tr> : null}
        </tbody>
      </table>

      <h2>VARP cache ({body?.varp?.length ?? 0})</h2>
      <table aria-label="VARP cache">
        <thead><tr><th>Vnet</th><th>MAC</th><th>IP</th><th>Care-of address</th><th>State</th><th>Age</th></tr></thead>
        <tbody>
          {(body?.varp ?? []).map((e) => (
            <tr key={`${e.vnet}/${e.mac}`}>
              <td>{e.vnet}</td><td><code>{e.mac}</code></td><td>{e.ip ?? '—'}</td>
              <td>{e.coa}{hostByAddress.get(e.coa) ? ` (${hostByAddress.get(e.coa)})` : ''}</td>
              <td><span className={`badge varp-${e.state.toLowerCase()}`}>{e.state}</span></td>
              <td>{age(e.ageMs + since)}</td>
            </tr>
          ))}
          {!body?.varp?.length ? <tr><td colSpan={6}>The cache is empty: entries appear when guests on this host talk to guests elsewhere.</td></tr> : null}
        </tbody>
      </table>

      <HostServicesSection services={body?.services} upstream={h?.dnsUpstream} now={now} />
      {me.data?.role === 'admin' && h ? <HostUpstreamForm hostId={hostId} current={h.dnsUpstream} /> : null}

      <h2>Counters</h2>
      <div className="inline">
        <label className="inline-label">Filter<input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="e.g. varp" /></label>
        <label className="check"><input type="checkbox" checked={nonZero} onChange={(e) => setNonZero(e.target.checked)} /> only non-zero</label>
      </div>
      <table aria-label="Counters">
        <thead><tr><th>Counter</th><th>Value</th><th>Per second</th><th>Recent rate</th></tr></thead>
        <tbody>
          {counters.map(([name, v]) => {
            const series = history?.series[name] ?? [];
            return (
              <tr key={name}>
                <th scope="row"><code>{name}</code></th>
                <td>{v}</td>
                <td>{formatRate(series.at(-1) ?? 0)}</td>
                <td><Sparkline values={series} label={`Rate of ${name}`} /></td>
              </tr>
            );
          })}
          {counters.length === 0 ? <tr><td colSpan={4}>No counters{nonZero ? ' above zero' : ''}.</td></tr> : null}
        </tbody>
      </table>
    </section>
  );
}

/** "kernel", or "userspace: vnet sealed": which path carries the VIF's frames (an agent that does not say: a dash). */
function pathText(p: { path: string; reason: string | null } | undefined): string {
  if (!p) return '—';
  return p.reason ? `${p.path}: ${p.reason}` : p.path;
}

/** "tap · vm-web-1 in ns-web" for a TAP guest, the kind alone otherwise. */
function guestText(g: { kind: unknown; ifname?: unknown; netns?: unknown }): string {
  const kind = String(g.kind);
  if (typeof g.ifname !== 'string') return kind;
  return typeof g.netns === 'string' ? `${kind} · ${g.ifname} in ${g.netns}` : `${kind} · ${g.ifname}`;
}
