'use client';
// The topology as tables: readable at any size, filterable, and a keyboard
// way to migrate a VM.
import { useMemo, useState } from 'react';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { countTunnels, tunnelRates, UNDERLAY_RX, UNDERLAY_TX, type HostLite, type Tunnel, type VmState } from '../lib/graph/live.ts';
import { formatRate } from '../lib/graph/rates.ts';

const ROW_LIMIT = 500;

export interface TableViewProps {
  hosts: readonly HostLite[];
  farms: readonly FarmDetail[];
  states: ReadonlyMap<string, VmState>;
  tunnels: readonly Tunnel[];
  rates: ReadonlyMap<string, Record<string, number>>;
  canMigrate: boolean;
  onMigrate(vmId: string, hostId: string): void;
}

export function TableView(p: TableViewProps) {
  const [filter, setFilter] = useState('');
  const [targets, setTargets] = useState<Record<string, string>>({});
  const q = filter.trim().toLowerCase();
  const hostName = useMemo(() => new Map(p.hosts.map((h) => [h.id, h.name])), [p.hosts]);
  const vmRows = useMemo(
    () =>
      p.farms.flatMap((f) =>
        f.vms.map((vm) => ({ vm, farm: f, state: p.states.get(vm.id) ?? 'undeployed', ips: vm.vifs.map((x) => x.ip).join(', ') })),
      ).filter((r) => !q || `${r.farm.name} ${r.vm.name} ${r.vm.hostName ?? ''} ${r.ips} ${r.state}`.toLowerCase().includes(q)),
    [p.farms, p.states, q],
  );
  const hostRows = p.hosts.filter((h) => !q || `${h.name} ${h.address} ${h.segmentName ?? ''} ${h.status}`.toLowerCase().includes(q));
  const byId = useMemo(() => new Map(p.hosts.map((h) => [h.id, h])), [p.hosts]);
  const perHost = useMemo(() => countTunnels(p.tunnels), [p.tunnels]);
  const tunnelRows = p.tunnels.filter((t) => !q || `${hostName.get(t.a)} ${hostName.get(t.b)}`.toLowerCase().includes(q));
  const vmsOn = (id: string) => p.farms.reduce((n, f) => n + f.vms.filter((v) => v.hostId === id).length, 0);

  return (
    <div className="table-view">
      <label className="inline-label">
        Filter
        <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="host, VM, IP, state…" />
      </label>

      <h2>Hosts</h2>
      <table aria-label="Hosts">
        <thead><tr><th>Host</th><th>Segment</th><th>Status</th><th>Generation</th><th>VMs</th><th>Underlay tx/s</th><th>rx/s</th></tr></thead>
        <tbody>
          {hostRows.slice(0, ROW_LIMIT).map((h) => (
            <tr key={h.id}>
              <th scope="row"><a href={`/hosts/${h.id}`}>{h.name}</a> <span className="muted">{h.address}</span></th>
              <td>{h.segmentName ?? '—'}</td>
              <td><span className={`badge ${h.status}`}>{h.status}</span></td>
              <td>{h.appliedGeneration} / {h.desiredGeneration}</td>
              <td>{vmsOn(h.id)}</td>
              <td>{formatRate(p.rates.get(h.id)?.[UNDERLAY_TX] ?? 0)}</td>
              <td>{formatRate(p.rates.get(h.id)?.[UNDERLAY_RX] ?? 0)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>VMs</h2>
      {vmRows.length > ROW_LIMIT ? <p className="hint">Showing {ROW_LIMIT} of {vmRows.length}; filter to narrow.</p> : null}
      <table aria-label="VMs">
        <thead><tr><th>Farm</th><th>VM</th><th>Host</th><th>State</th><th>Addresses</th><th>Move to</th></tr></thead>
        <tbody>
          {vmRows.slice(0, ROW_LIMIT).map(({ vm, farm, state, ips }) => (
            <tr key={vm.id}>
              <td>{farm.name}</td>
              <th scope="row">{vm.name}</th>
              <td>{vm.hostName ?? 'not placed'}</td>
              <td><span className={`badge ${state}`}>{state}</span></td>
              <td>{ips || '—'}</td>
              <td>
                <select aria-label={`Move ${vm.name} to host`} value={targets[vm.id] ?? ''} disabled={!p.canMigrate}
                  onChange={(e) => setTargets((t) => ({ ...t, [vm.id]: e.target.value }))}>
                  <option value="">choose…</option>
                  {p.hosts.filter((h) => h.id !== vm.hostId).map((h) => <option key={h.id} value={h.id}>{h.name}</option>)}
                </select>{' '}
                <button type="button" disabled={!p.canMigrate || !targets[vm.id]} onClick={() => p.onMigrate(vm.id, targets[vm.id]!)}>Migrate</button>
              </td>
            </tr>
          ))}
          {vmRows.length === 0 ? <tr><td colSpan={6}>No VMs.</td></tr> : null}
        </tbody>
      </table>

      <h2>Tunnels</h2>
      <table aria-label="Tunnels">
        <thead><tr><th>Between</th><th>Vnets</th><th>Packets/s</th><th>Seen in VARP</th></tr></thead>
        <tbody>
          {tunnelRows.slice(0, ROW_LIMIT).map((t) => {
            const r = tunnelRates(t, byId, p.rates, perHost);
            return (
              <tr key={`${t.a}|${t.b}`}>
                <th scope="row">{hostName.get(t.a)} ⇄ {hostName.get(t.b)}</th>
                <td>{t.vnets.join(', ') || '—'}</td>
                <td>{r.ab === null && r.ba === null ? 'n/a' : `${formatRate(r.ab ?? 0)} → / ← ${formatRate(r.ba ?? 0)}`}</td>
                <td>{t.observed ? 'yes' : 'no'}</td>
              </tr>
            );
          })}
          {tunnelRows.length === 0 ? <tr><td colSpan={4}>No tunnels: no two hosts share a deployed vnet.</td></tr> : null}
        </tbody>
      </table>
    </div>
  );
}
