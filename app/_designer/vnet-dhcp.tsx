'use client';
// The DHCP and DNS part of a vnet's properties: on/off, gateway (empty: the
// router's or firewall's address on the vnet), DNS servers announced after
// the vnet's resolver, domain, lease time and classless static routes
// (option 121, one `destination via gateway` per line). The form keeps text;
// the edit sends the whole setting, so undo restores it as it was.
import { Field } from '../_components/field.tsx';
import type { FarmDetail } from '../lib/graph/elements.ts';
import type { FormCtx } from './properties.tsx';
import { DHCP_DNS_SERVERS_MAX, DHCP_ROUTES_MAX } from '../../contract/limits.ts';

type Dhcp = FarmDetail['vnets'][number]['dhcp'];

export interface DhcpDraft {
  dhcpEnabled: boolean;
  dhcpGateway: string;
  dhcpDns: string;
  dhcpDomain: string;
  dhcpLease: string;
  dhcpRoutes: string;
}

/** Every field the group shows an error beside (the rest go to the form's general message). */
export const DHCP_FIELDS = [
  'dhcp', 'dhcp.enabled', 'dhcp.gateway', 'dhcp.dnsServers', 'dhcp.domain', 'dhcp.leaseTime', 'dhcp.routes',
  ...Array.from({ length: DHCP_DNS_SERVERS_MAX }, (_, i) => `dhcp.dnsServers.${i}`),
  ...Array.from({ length: DHCP_ROUTES_MAX }, (_, i) => [`dhcp.routes.${i}.destination`, `dhcp.routes.${i}.gateway`]).flat(),
];

export function dhcpDraft(d: Dhcp): DhcpDraft {
  return { dhcpEnabled: d.enabled, dhcpGateway: d.gateway ?? '', dhcpDns: d.dnsServers.join(', '), dhcpDomain: d.domain ?? '', dhcpLease: String(d.leaseTime), dhcpRoutes: routesText(d.routes) };
}

/** Routes as the form shows them: `10.20.0.0/16 via 10.1.0.2`, one a line. */
export function routesText(routes: Dhcp['routes']): string {
  return routes.map((r) => `${r.destination} via ${r.gateway}`).join('\n');
}

/**
 * The form's routes: a line (or comma-separated item) is `destination via
 * gateway` or `destination gateway`; whatever is missing stays empty so the
 * API names the bad field (`dhcp.routes.<i>.gateway`).
 */
export function routesOfText(text: string): Dhcp['routes'] {
  return text
    .split(/[\n,;]+/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [destination = '', ...rest] = l.split(/\s+/);
      const words = rest.filter((w) => w.toLowerCase() !== 'via');
      return { destination, gateway: words.join(' ') };
    });
}

/** The setting the draft describes (the API checks every field and names the bad one). */
export function dhcpOfDraft(d: DhcpDraft): Dhcp {
  return {
    enabled: d.dhcpEnabled,
    gateway: d.dhcpGateway.trim() || null,
    dnsServers: d.dhcpDns.split(/[\s,]+/).filter(Boolean),
    domain: d.dhcpDomain.trim() || null,
    leaseTime: Number(d.dhcpLease),
    routes: routesOfText(d.dhcpRoutes),
  };
}

export function VnetDhcpFields({ draft, set, ctx }: { draft: DhcpDraft; set<K extends keyof DhcpDraft>(k: K, v: DhcpDraft[K]): void; ctx: FormCtx }) {
  const off = ctx.readOnly || !draft.dhcpEnabled;
  const dnsErr = ctx.err('dhcp.dnsServers') ?? Array.from({ length: DHCP_DNS_SERVERS_MAX }, (_, i) => ctx.err(`dhcp.dnsServers.${i}`)).find(Boolean) ?? null;
  const lines = routesOfText(draft.dhcpRoutes).length;
  const routeErr =
    ctx.err('dhcp.routes') ??
    Array.from({ length: lines }, (_, i) => ctx.err(`dhcp.routes.${i}.destination`) ?? ctx.err(`dhcp.routes.${i}.gateway`)).find(Boolean) ??
    null;
  return (
    <fieldset className="props-group">
      <legend>DHCP and DNS</legend>
      <label className="check">
        <input type="checkbox" name="dhcpEnabled" checked={draft.dhcpEnabled} onChange={(e) => set('dhcpEnabled', e.target.checked)} disabled={ctx.readOnly} /> DHCP for this vnet&apos;s guests
      </label>
      <Field label="Gateway (empty: the router's address)" error={ctx.err('dhcp.gateway')}>
        <input name="dhcpGateway" value={draft.dhcpGateway} onChange={(e) => set('dhcpGateway', e.target.value)} disabled={off} placeholder="automatic" />
      </Field>
      <Field label="Extra DNS servers" error={dnsErr}>
        <input name="dhcpDns" value={draft.dhcpDns} onChange={(e) => set('dhcpDns', e.target.value)} disabled={off} placeholder="e.g. 9.9.9.9" />
      </Field>
      <Field label="Domain" error={ctx.err('dhcp.domain')}>
        <input name="dhcpDomain" value={draft.dhcpDomain} onChange={(e) => set('dhcpDomain', e.target.value)} disabled={off} placeholder="e.g. example.internal" />
      </Field>
      <Field label="Lease time (s)" error={ctx.err('dhcp.leaseTime')}>
        <input name="dhcpLease" inputMode="numeric" value={draft.dhcpLease} onChange={(e) => set('dhcpLease', e.target.value)} disabled={off} />
      </Field>
      <Field label="Static routes (option 121)" error={routeErr}>
        <textarea name="dhcpRoutes" rows={2} value={draft.dhcpRoutes} onChange={(e) => set('dhcpRoutes', e.target.value)} disabled={off} placeholder="e.g. 10.20.0.0/16 via 10.1.0.2" />
      </Field>
    </fieldset>
  );
}
