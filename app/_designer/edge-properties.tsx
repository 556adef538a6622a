'use client';
// Properties of an edge: a VIF (MAC and IP, as the API assigned them and
// editable), a router interface, a firewall interface or a router link.
import { Field } from '../_components/field.tsx';
import type { FarmSelection } from '../lib/graph/farm-graph.ts';
import { changedFields } from './farm-commands.ts';
import { formCtx, FormFrame, type PropertiesProps } from './properties.tsx';
import { useDraft } from './use-draft.ts';
import { setVifGroupsCommand } from './security-ops.ts';
import { useState } from 'react';

type EdgeSelection = Extract<FarmSelection, { kind: 'vif' | 'routerInterface' | 'firewallInterface' | 'routerLink' }>;

export function EdgeProperties(p: PropertiesProps & { selection: EdgeSelection }) {
  const s = p.selection;
  switch (s.kind) {
    case 'vif':
      return <VifForm {...p} selection={s} />;
    case 'routerInterface':
      return <RouterInterfaceForm {...p} selection={s} />;
    case 'firewallInterface': {
      const i = s.item;
      const ctx = formCtx(p, i.id);
      return (
        <FormFrame title={`Interface ${s.firewall.name}/${i.name}`} ctx={ctx} onDelete={p.onDelete} deleteLabel="Remove interface" general={ctx.general([])}>
          <dl className="facts">
            <dt>Vnet</dt><dd>{vnetName(p, i.vnetId)}</dd>
            <dt>IP</dt><dd>{i.ip}/{i.prefixLen}</dd>
            <dt>MAC</dt><dd>{i.mac}</dd>
          </dl>
          <p className="hint">To change the address, remove the interface and connect again.</p>
        </FormFrame>
      );
    }
    case 'routerLink': {
      const l = s.item;
      const ctx = formCtx(p, l.id);
      const router = (id: string) => p.farm.routers.find((r) => r.id === id)?.name ?? '?';
      return (
        <FormFrame title={`Link ${router(l.routerAId)} – ${router(l.routerBId)}`} ctx={ctx} onDelete={p.onDelete} deleteLabel="Remove link" general={ctx.general([])}>
          <dl className="facts">
            <dt>Network</dt><dd>{l.cidr}</dd>
            <dt>{router(l.routerAId)}</dt><dd>{l.ipA}</dd>
            <dt>{router(l.routerBId)}</dt><dd>{l.ipB}</dd>
            <dt>RIP</dt><dd>{l.rip ? 'on' : 'off'}</dd>
          </dl>
        </FormFrame>
      );
    }
  }
}

const vnetName = (p: PropertiesProps, id: string) => {
  const v = p.farm.vnets.find((x) => x.id === id);
  return v ? `${v.name} (${v.cidr})` : '?';
};

function VifForm(p: PropertiesProps & { selection: Extract<EdgeSelection, { kind: 'vif' }> }) {
  const f = p.selection.item;
  const ctx = formCtx(p, f.id);
  const { draft, set, dirty } = useDraft({ mac: f.mac, ip: f.ip }, p.onDirty);
  const apply = () => {
    const { before, after } = changedFields({ mac: f.mac, ip: f.ip }, draft);
    void p.onEdit({ kind: 'vif', id: f.id, before, after }, `edit VIF ${p.selection.vm.name}/${f.name}`);
  };
  return (
    <FormFrame title={`VIF ${p.selection.vm.name}/${f.name}`} ctx={ctx} dirty={dirty} onSubmit={apply} onDelete={p.onDelete} deleteLabel="Remove VIF" general={ctx.general(['mac', 'ip'])}>
      <p className="hint">On vnet {vnetName(p, f.vnetId)}</p>
      <Field label="IP address" error={ctx.err('ip')}><input name="ip" value={draft.ip} onChange={(e) => set('ip', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="MAC address" error={ctx.err('mac')}><input name="mac" value={draft.mac} onChange={(e) => set('mac', e.target.value)} disabled={ctx.readOnly} /></Field>
      <VifGroups key={f.securityGroups.join()} {...p} />
    </FormFrame>
  );
}

/** The VIF's security groups: ticked ones are its groups; applying replaces them as one undoable command. */
function VifGroups(p: PropertiesProps & { selection: Extract<EdgeSelection, { kind: 'vif' }> }) {
  const f = p.selection.item;
  const ctx = formCtx(p, f.id);
  const [chosen, setChosen] = useState<string[]>(f.securityGroups);
  const dirty = JSON.stringify([...chosen].sort()) !== JSON.stringify([...f.securityGroups].sort());
  const label = `${p.selection.vm.name}/${f.name}`;
  const toggle = (id: string, on: boolean) => setChosen((c) => (on ? [...c, id] : c.filter((x) => x !== id)));
  const err = ctx.err('groupIds') ?? (p.error?.targetId === f.id && p.error.field?.startsWith('groupIds.') ? p.error.message : null);
  return (
    <fieldset className="vif-groups">
      <legend>Security groups</legend>
      {p.farm.securityGroups.length === 0 ? <p className="hint">The farm has no security groups (see the Security groups panel).</p> : null}
      {p.farm.securityGroups.map((g) => (
        <label key={g.id} className="check">
          <input type="checkbox" checked={chosen.includes(g.id)} disabled={ctx.readOnly} onChange={(e) => toggle(g.id, e.target.checked)} /> {g.name}
        </label>
      ))}
      {chosen.length === 0 ? <p className="hint">In no group: this VIF is not filtered.</p> : null}
      {err ? <p className="field-error" role="alert">{err}</p> : null}
      <button type="button" className="secondary" disabled={ctx.readOnly || !dirty}
        onClick={() => void p.onRun(setVifGroupsCommand(p.sgOps, label, f.id, f.securityGroups, chosen))}>Set groups</button>
    </fieldset>
  );
}

function RouterInterfaceForm(p: PropertiesProps & { selection: Extract<EdgeSelection, { kind: 'routerInterface' }> }) {
  const i = p.selection.item;
  const ctx = formCtx(p, i.id);
  const { draft, set, dirty } = useDraft({ ip: i.ip, prefixLen: String(i.prefixLen), mac: i.mac, rip: i.rip }, p.onDirty);
  const apply = () => {
    const { before, after } = changedFields(
      { ip: i.ip, prefixLen: i.prefixLen, mac: i.mac, rip: i.rip },
      { ip: draft.ip, prefixLen: Number(draft.prefixLen), mac: draft.mac, rip: draft.rip },
    );
    void p.onEdit({ kind: 'routerInterface', id: i.id, before, after }, `edit interface of ${p.selection.router.name}`);
  };
  return (
    <FormFrame title={`Interface of router ${p.selection.router.name}`} ctx={ctx} dirty={dirty} onSubmit={apply} onDelete={p.onDelete} deleteLabel="Remove interface" general={ctx.general(['ip', 'prefixLen', 'mac', 'rip'])}>
      <p className="hint">On vnet {vnetName(p, i.vnetId)}</p>
      <Field label="IP address" error={ctx.err('ip')}><input name="ip" value={draft.ip} onChange={(e) => set('ip', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="Prefix length" error={ctx.err('prefixLen')}><input name="prefixLen" inputMode="numeric" value={draft.prefixLen} onChange={(e) => set('prefixLen', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="MAC address" error={ctx.err('mac')}><input name="mac" value={draft.mac} onChange={(e) => set('mac', e.target.value)} disabled={ctx.readOnly} /></Field>
      <label className="check"><input type="checkbox" name="rip" checked={draft.rip} onChange={(e) => set('rip', e.target.checked)} disabled={ctx.readOnly} /> RIP on this interface</label>
    </FormFrame>
  );
}
