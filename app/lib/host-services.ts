// The host page's DHCP and DNS part, as rows: per vnet what the agent's DHCP
// server and resolver answered and dropped, and the leases it handed out with
// the time each has left (host.report `services`, the caller's vnets only).
import type { ReportBody } from './graph/live.ts';

export type HostServices = NonNullable<ReportBody['services']>;
export type LeaseRow = NonNullable<HostServices['leases']>[number] & { vnetName: string; remainingS: number };

/** Leases with their vnet's name and seconds left at `now` (the newest first; expired ones left out). */
export function leaseRows(s: HostServices | undefined, now: number): LeaseRow[] {
  if (!s?.leases) return [];
  const names = new Map(s.vnets.map((v) => [v.vnet, v.name]));
  return s.leases
    .map((l) => ({ ...l, vnetName: names.get(l.vnet) ?? String(l.vnet), remainingS: Math.round((l.ackedAt + l.leaseTime * 1000 - now) / 1000) }))
    .filter((l) => l.remainingS > 0)
    .sort((a, b) => b.ackedAt - a.ackedAt);
}

/** "59 min", "2 h 5 min", "40 s". */
export function remainingText(s: number): string {
  if (s < 120) return `${s} s`;
  const min = Math.floor(s / 60);
  return min < 120 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}
