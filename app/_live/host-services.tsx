'use client';
// The host page's "DHCP and DNS" section: per vnet its resolver address, the
// leases, DHCP replies and drops, DNS answers, forwards and drops; then every lease handed out
// (VM name, MAC, address, vnet, time left). Rows come from app/lib/host-services.ts.
import { leaseRows, remainingText, type HostServices } from '../lib/host-services.ts';

export function HostServicesSection({ services, upstream, now }: { services: HostServices | undefined; upstream: readonly string[] | undefined; now: number }) {
  const vnets = services?.vnets ?? [];
  const leases = leaseRows(services, now);
  return (
    <>
      <h2>DHCP and DNS ({vnets.length} vnet{vnets.length === 1 ? '' : 's'})</h2>
      <p className="hint">Upstream resolvers: {upstream?.length ? upstream.join(', ') : 'none (names outside the farms are answered REFUSED)'}</p>
      <table aria-label="DHCP and DNS per vnet">
        <thead><tr><th>Vnet</th><th>Resolver</th><th>Leases</th><th>DHCP replies</th><th>DHCP drops</th><th>DNS answers</th><th>DNS forwarded</th><th>DNS drops</th></tr></thead>
        <tbody>
          {vnets.map((v) => (
            <tr key={v.vnet}>
              <th scope="row" title={`vnet ${v.vnet}`}>{v.name}</th><td>{v.resolver ?? '—'}</td><td>{v.leases}</td><td>{v.dhcpReplies}</td><td>{v.dhcpDrops}</td><td>{v.dnsAnswers}</td><td>{v.dnsForwarded}</td><td>{v.dnsDrops}</td>
            </tr>
          ))}
          {vnets.length === 0 ? <tr><td colSpan={8}>No vnet of yours with DHCP on this host.</td></tr> : null}
        </tbody>
      </table>
      <table aria-label="DHCP leases">
        <thead><tr><th>Host name</th><th>MAC</th><th>Address</th><th>Vnet</th><th>Time left</th></tr></thead>
        <tbody>
          {leases.map((l) => (
            <tr key={l.vif}>
              <th scope="row" title={`VIF ${l.vif}`}>{l.hostName ?? '—'}</th><td><code>{l.mac}</code></td><td>{l.ip}</td><td>{l.vnetName}</td><td>{remainingText(l.remainingS)}</td>
            </tr>
          ))}
          {leases.length === 0 ? <tr><td colSpan={5}>No leases: guests on this host have not asked for an address by DHCP.</td></tr> : null}
        </tbody>
      </table>
    </>
  );
}
