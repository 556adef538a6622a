'use client';
// External legs in the properties panel: connecting a router or firewall to
// an external network (a section of its form), and the leg itself (the edge
// to the external network node): its address, SNAT prefixes, floating IPs and
// port forwards, each change one undoable command.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Field } from '../_components/field.tsx';
import { useTRPC } from '../lib/trpc.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { addNatCommand, attachLegCommand, removeNatCommand, updateLegCommand, type LegView } from './leg-ops.ts';
import { formCtx, FormFrame, type FormCtx, type PropertiesProps } from './properties.tsx';
import { useDraft } from './use-draft.ts';

/** Every VIF of the farm, as `VM/eth0 (10.1.0.10)`. */
function vifOptions(farm: FarmDetail) {
  return farm.vms.flatMap((vm) => vm.vifs.map((f) => ({ id: f.id, label: `${vm.name}/${f.name} (${f.ip})` })));
}

/** The section of a router's or firewall's form: its leg, or a picker to attach one. */
export function ExternalLegSection(p: PropertiesProps & { node: { kind: 'router' | 'firewall'; id: string; name: string }; ctx: FormCtx }) {
  const trpc = useTRPC();
  const networks = useQuery(trpc.externalNetwork.list.queryOptions({ limit: 200 }));
  const [networkId, setNetworkId] = useState('');
  const [ip, setIp] = useState('');
  const leg = p.farm.externalLegs.find((l) => (p.node.kind === 'router' ? l.routerId : l.firewallId) === p.node.id);
  if (leg) {
    return (
      <>
        <h3>External network</h3>
        <p><button type="button" className="link" onClick={() => p.onSelect(leg.id)}>{leg.networkName} · {leg.ip}/{leg.prefixLen} · {leg.floatingIps.length} floating IPs · {leg.portForwards.length} forwards</button></p>
      </>
    );
  }
  const items = networks.data?.items ?? [];
  const attach = async () => {
    if (!p.legOps) return;
    const spec = { [`${p.node.kind}Id`]: p.node.id, externalNetworkId: networkId, ...(ip.trim() ? { ip: ip.trim() } : {}) };
    const name = items.find((n) => n.id === networkId)?.name ?? '';
    if (await p.onRun(attachLegCommand(p.legOps, spec, `connect ${p.node.kind} ${p.node.name} to ${name}`))) {
      setNetworkId('');
      setIp('');
    }
  };
  return (
    <>
      <h3>External network</h3>
      {items.length === 0 ? <p className="hint">No external network is defined (an administrator adds them on the Hosts page).</p> : (
        // biome-ignore lint/a11y/useSemanticElements: a row of controls styled as one line; a fieldset would bring its own border and legend
        <div className="connect-picker" role="group" aria-label="Connect to external network">
          <label>
            Network
            <select name="externalNetworkId" value={networkId} disabled={p.ctx.readOnly} onChange={(e) => setNetworkId(e.target.value)}>
              <option value="" disabled>choose…</option>
              {items.map((n) => <option key={n.id} value={n.id}>{n.name} ({n.cidr}, {n.segmentName})</option>)}
            </select>
          </label>
          <label>Address<input name="legIp" value={ip} placeholder="from the pool" onChange={(e) => setIp(e.target.value)} disabled={p.ctx.readOnly} /></label>
          <button type="button" disabled={p.ctx.readOnly || !networkId || !p.legOps} onClick={() => void attach()}>Connect</button>
          {p.ctx.err('externalNetworkId') ?? p.ctx.err('ip') ?? p.ctx.err(`${p.node.kind}Id`) ? (
            <p className="field-error" role="alert">{p.ctx.err('externalNetworkId') ?? p.ctx.err('ip') ?? p.ctx.err(`${p.node.kind}Id`)}</p>
          ) : null}
        </div>
      )}
    </>
  );
}

/** The leg's form: address and SNAT (Apply), floating IPs and port forwards (each added or removed at once). */
export function ExternalLegForm(p: PropertiesProps & { leg: LegView }) {
  const leg = p.leg;
  const ctx = formCtx(p, leg.id);
  const { draft, set, dirty } = useDraft({ ip: leg.ip, snat: leg.snat.join('\n') }, p.onDirty);
  const [fip, setFip] = useState({ vifId: '', ip: '' });
  const [fwd, setFwd] = useState({ protocol: 'tcp' as 'tcp' | 'udp', externalPort: '', vifId: '', internalPort: '' });
  const vifs = vifOptions(p.farm);
  const vifLabel = (id: string) => vifs.find((v) => v.id === id)?.label ?? '?';
  const node = leg.routerId
    ? `router ${p.farm.routers.find((r) => r.id === leg.routerId)?.name ?? '?'}`
    : `firewall ${p.farm.firewalls.find((f) => f.id === leg.firewallId)?.name ?? '?'}`;
  const ops = p.legOps;
  const apply = () => {
    if (!ops) return;
    const snat = draft.snat.split(/[\s,]+/).filter(Boolean);
    const after = { ...(draft.ip !== leg.ip ? { ip: draft.ip } : {}), ...(snat.join(',') !== leg.snat.join(',') ? { snat } : {}) };
    if (Object.keys(after).length) void p.onRun(updateLegCommand(ops, leg, after));
  };
  const addFip = async () => {
    if (!ops) return;
    const spec = { legId: leg.id, vifId: fip.vifId, ...(fip.ip.trim() ? { ip: fip.ip.trim() } : {}) };
    if (await p.onRun(addNatCommand(ops, { floatingIp: spec }, `add floating IP for ${vifLabel(fip.vifId)}`))) setFip({ vifId: '', ip: '' });
  };
  const addFwd = async () => {
    if (!ops) return;
    const spec = { legId: leg.id, protocol: fwd.protocol, externalPort: Number(fwd.externalPort), vifId: fwd.vifId, internalPort: Number(fwd.internalPort) };
    if (await p.onRun(addNatCommand(ops, { portForward: spec }, `forward ${fwd.protocol} ${fwd.externalPort}`))) {
      setFwd({ protocol: fwd.protocol, externalPort: '', vifId: '', internalPort: '' });
    }
  };
  const natErr = ctx.err('vifId') ?? ctx.err('externalPort') ?? ctx.err('internalPort') ?? ctx.err('protocol') ?? ctx.err('legId');
  return (
    <FormFrame title={`External leg of ${node}`} ctx={ctx} dirty={dirty} onSubmit={apply} onDelete={p.onDelete} deleteLabel="Detach"
      general={ctx.general(['ip', 'snat', 'vifId', 'externalPort', 'internalPort', 'protocol', 'legId'])}>
      <dl className="facts">
        <dt>Network</dt><dd>{leg.networkName}</dd>
        <dt>Gateway</dt><dd>{leg.gateway} (default route of a router)</dd>
        <dt>MAC</dt><dd>{leg.mac}</dd>
      </dl>
      <Field label={`Address (/${leg.prefixLen})`} error={ctx.err('ip')}><input name="ip" value={draft.ip} onChange={(e) => set('ip', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="SNAT prefixes" error={ctx.err('snat') ?? leg.snat.map((_, i) => ctx.err(`snat.${i}`)).find(Boolean) ?? ctx.err('snat.0')} hint="Inside prefixes leaving with the leg's address; one per line.">
        <textarea name="snat" rows={3} value={draft.snat} onChange={(e) => set('snat', e.target.value)} disabled={ctx.readOnly} />
      </Field>
      <h3>Floating IPs</h3>
      <ul className="plain">
        {leg.floatingIps.map((f) => (
          <li key={f.id}>
            {f.ip} ↔ {vifLabel(f.vifId)}{' '}
            <button type="button" className="link" disabled={ctx.readOnly || !ops} aria-label={`Remove floating IP ${f.ip}`}
              onClick={() => ops && void p.onRun(removeNatCommand(ops, { floatingIp: f }, `remove floating IP ${f.ip}`))}>remove</button>
          </li>
        ))}
      </ul>
      {/* biome-ignore lint/a11y/useSemanticElements: a row of controls styled as one line; a fieldset would bring its own border and legend */}
      <div className="route-add" role="group" aria-label="Add floating IP">
        <label>VIF<select name="fipVif" value={fip.vifId} onChange={(e) => setFip({ ...fip, vifId: e.target.value })} disabled={ctx.readOnly}>
          <option value="">choose…</option>
          {vifs.map((v) => <option key={v.id} value={v.id}>{v.label}</option>)}
        </select></label>
        <label>Address<input name="fipIp" value={fip.ip} placeholder="from the pool" onChange={(e) => setFip({ ...fip, ip: e.target.value })} disabled={ctx.readOnly} /></label>
        <button type="button" onClick={() => void addFip()} disabled={ctx.readOnly || !fip.vifId}>Add floating IP</button>
      </div>
      <h3>Port forwards</h3>
      <ul className="plain">
        {leg.portForwards.map((f) => (
          <li key={f.id}>
            {f.protocol} {leg.ip}:{f.externalPort} → {vifLabel(f.vifId)}:{f.internalPort}{' '}
            <button type="button" className="link" disabled={ctx.readOnly || !ops} aria-label={`Remove forward ${f.protocol} ${f.externalPort}`}
              onClick={() => ops && void p.onRun(removeNatCommand(ops, { portForward: f }, `remove forward ${f.protocol} ${f.externalPort}`))}>remove</button>
          </li>
        ))}
      </ul>
      {/* biome-ignore lint/a11y/useSemanticElements: a row of controls styled as one line; a fieldset would bring its own border and legend */}
      <div className="route-add" role="group" aria-label="Add port forward">
        <label>Protocol<select name="fwdProtocol" value={fwd.protocol} onChange={(e) => setFwd({ ...fwd, protocol: e.target.value as 'tcp' | 'udp' })} disabled={ctx.readOnly}>
          <option value="tcp">tcp</option><option value="udp">udp</option>
        </select></label>
        <label>Port<input name="fwdExternalPort" inputMode="numeric" value={fwd.externalPort} onChange={(e) => setFwd({ ...fwd, externalPort: e.target.value })} disabled={ctx.readOnly} /></label>
        <label>To VIF<select name="fwdVif" value={fwd.vifId} onChange={(e) => setFwd({ ...fwd, vifId: e.target.value })} disabled={ctx.readOnly}>
          <option value="">choose…</option>
          {vifs.map((v) => <option key={v.id} value={v.id}>{v.label}</option>)}
        </select></label>
        <label>Port<input name="fwdInternalPort" inputMode="numeric" value={fwd.internalPort} onChange={(e) => setFwd({ ...fwd, internalPort: e.target.value })} disabled={ctx.readOnly} /></label>
        <button type="button" onClick={() => void addFwd()} disabled={ctx.readOnly || !fwd.vifId || !fwd.externalPort || !fwd.internalPort}>Add forward</button>
      </div>
      {natErr ? <p className="field-error" role="alert">{natErr}</p> : null}
    </FormFrame>
  );
}
