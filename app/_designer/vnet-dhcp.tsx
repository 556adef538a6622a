'use client';
// The DHCP and DNS part of a vnet's properties: on/off, gateway (empty: the
// router's or firewall's address on the vnet), DNS servers announced after
// the vnet's resolver, domain and lease time. The form keeps text; the edit
// sends the whole setting, so undo restores it as it was.
import { Field } from '../_components/field.tsx';
import type { FarmDetail } from '../lib/graph/elements.ts';
import type { FormCtx } from './properties.tsx';

type Dhcp = FarmDetail['vnets'][number]['dhcp'];

export interface DhcpDraft {
  dhcpEnabled: boolean;
  dhcpGateway: string;
  dhcpDns: string;
  dhcpDomain: string;
  dhcpLease: string;
}

export const DHCP_FIELDS = ['dhcp', 'dhcp.enabled', 'dhcp.gateway', 'dhcp.dnsServers', 'dhcp.domain', 'dhcp.leaseTime'];

export function dhcpDraft(d: Dhcp): DhcpDraft {
  return { dhcpEnabled: d.enabled, dhcpGateway: d.gateway ?? '', dhcpDns: d.dnsServers.join(', '), dhcpDomain: d.domain ?? '', dhcpLease: String(d.leaseTime) };
}

/** The setting the draft describes (the API checks every field and names the bad one). */
export function dhcpOfDraft(d: DhcpDraft): Dhcp {
  return {
    enabled: d.dhcpEnabled,
    gateway: d.dhcpGateway.trim() || null,
    dnsServers: d.dhcpDns.split(/[\s,]+/).filter(Boolean),
    domain: d.dhcpDomain.trim() || null,
    leaseTime: Number(d.dhcpLease),
  };
}

export function VnetDhcpFields({ draft, set, ctx }: { draft: DhcpDraft; set<K extends keyof DhcpDraft>(k: K, v: DhcpDraft[K]): void; ctx: FormCtx }) {
  const off = ctx.readOnly || !draft.dhcpEnabled;
  const dnsErr = ctx.err('dhcp.dnsServers') ?? [0, 1, 2].map((i) => ctx.err(`dhcp.dnsServers.${i}`)).find(Boolean) ?? null;
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
    </fieldset>
  );
}
