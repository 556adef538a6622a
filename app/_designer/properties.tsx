'use client';
// The properties panel: a form for the selected node or edge. Applying sends
// only the changed fields as one undoable edit; the API's validation error
// appears under the field it names.
import { useState, type FormEvent, type ReactNode } from 'react';
import { Field } from '../_components/field.tsx';
import type { Command } from '../lib/graph/commands.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';
import type { FarmSelection } from '../lib/graph/farm-graph.ts';
import { changedFields, type Edit } from './farm-commands.ts';
import type { FarmOps } from './farm-ops.ts';
import type { SecurityOps } from './security-ops.ts';
import { EdgeProperties } from './edge-properties.tsx';
import { LiveFirewall } from './live-firewall.tsx';
import { LiveRouter } from './live-router.tsx';
import { RouterExtras } from './router-extras.tsx';
import { RulesEditor } from './rules-editor.tsx';
import { useDraft, type DirtyReporter } from './use-draft.ts';
import { canRunGuest } from '../lib/host-guests.ts';
import { DHCP_FIELDS, dhcpDraft, dhcpOfDraft, VnetDhcpFields } from './vnet-dhcp.tsx';
import { ExternalLegForm, ExternalLegSection } from './external-leg.tsx';
import type { LegOps } from './leg-ops.ts';

export interface ActionError {
  field: string | null;
  message: string;
  /** The selected object when the error happened; errors show only while it stays selected. */
  targetId: string | null;
}

export interface PropertiesProps {
  farm: FarmDetail;
  selection: FarmSelection | null;
  hosts: readonly { id: string; name: string; capabilities: readonly string[] }[];
  readOnly: boolean;
  error: ActionError | null;
  ops: FarmOps;
  /** External legs, their floating IPs and forwards. */
  legOps?: LegOps;
  sgOps: SecurityOps;
  onEdit(edit: Edit, label: string): Promise<boolean>;
  onRun(cmd: Command): Promise<boolean>;
  onDelete(): void;
  onConnect(from: string, to: string): void;
  onSelect(id: string | null): void;
  onDirty: DirtyReporter;
}

export interface FormCtx {
  readOnly: boolean;
  /** The API's message for `field` of the selected object, if the last change failed there. */
  err(field: string): string | null;
  /** An error that names no field shown in the form. */
  general(fields: readonly string[]): string | null;
}

/** An optional number field: empty means none (null); anything else goes to the API as typed, which names a bad value. */
const optionalNumber = (text: string): number | null => (text.trim() === '' ? null : Number(text));

export function formCtx(p: PropertiesProps, id: string): FormCtx {
  const mine = p.error && p.error.targetId === id ? p.error : null;
  return {
    readOnly: p.readOnly,
    err: (field) => (mine && mine.field === field ? mine.message : null),
    general: (fields) => (mine && (!mine.field || !fields.includes(mine.field)) && !mine.field?.startsWith('rules.') ? mine.message : null),
  };
}

export function FormFrame({ title, children, onSubmit, dirty, ctx, onDelete, deleteLabel, general }: {
  title: string; children: ReactNode; onSubmit?: () => void; dirty?: boolean; ctx: FormCtx; onDelete(): void; deleteLabel: string; general: string | null;
}) {
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit?.();
  };
  return (
    <form className="props-form" aria-label={title} onSubmit={submit}>
      <h2>{title}</h2>
      {general ? <p className="error" role="alert">{general}</p> : null}
      {children}
      <div className="props-actions">
        {onSubmit ? <button type="submit" disabled={ctx.readOnly || !dirty}>Apply</button> : null}
        <button type="button" className="danger" onClick={onDelete} disabled={ctx.readOnly}>{deleteLabel}</button>
      </div>
    </form>
  );
}

/** Field clones its child with id and aria attributes; they are passed on to the <select>. */
function HostSelect({ value, onChange, hosts, disabled, guestKind, ...aria }: {
  value: string; onChange(v: string): void; hosts: PropertiesProps['hosts']; disabled: boolean;
  /** A VM's guest kind: hosts whose agent cannot run it are shown, marked and not offered. */
  guestKind?: string;
  id?: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string;
}) {
  return (
    <select name="hostId" value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled} {...aria}>
      <option value="">not placed</option>
      {hosts.map((h) => {
        const refused = guestKind !== undefined && !canRunGuest(h.capabilities, guestKind);
        return <option key={h.id} value={h.id} disabled={refused && h.id !== value}>{refused ? `${h.name} (cannot run ${guestKind} guests)` : h.name}</option>;
      })}
    </select>
  );
}

/** A keyboard way to draw an edge: pick the other end from a list. (Inside the object's form, so not a form itself.) */
export function ConnectPicker({ from, options, onConnect, disabled }: { from: string; options: { id: string; label: string }[]; onConnect(from: string, to: string): void; disabled: boolean }) {
  const [to, setTo] = useState('');
  if (options.length === 0) return null;
  return (
    // biome-ignore lint/a11y/useSemanticElements: a row of controls styled as one line; a fieldset would bring its own border and legend
    <div className="connect-picker" role="group" aria-label="Connect">
      <label>
        Connect to
        <select value={to} disabled={disabled} onChange={(e) => setTo(e.target.value)}>
          <option value="" disabled>choose…</option>
          {options.map((o) => <option key={o.id} value={o.id}>{o.label}</option>)}
        </select>
      </label>
      <button type="button" disabled={disabled || !to} onClick={() => { onConnect(from, to); setTo(''); }}>Connect</button>
    </div>
  );
}

export function Properties(p: PropertiesProps) {
  const s = p.selection;
  if (!s) {
    return (
      <div className="props-empty">
        <h2>Properties</h2>
        <p>Select a node or an edge to see and change its properties.</p>
        <p className="hint">Add nodes from the palette (drag, or press a button). Hold <kbd>Shift</kbd> and drag from a VM, router or firewall to a vnet to connect them. <kbd>Delete</kbd> removes the selection; <kbd>Ctrl</kbd>+<kbd>Z</kbd> / <kbd>Ctrl</kbd>+<kbd>Y</kbd> undo and redo.</p>
        <p className="hint">The farm&apos;s security groups are below; a VIF&apos;s groups are in its properties.</p>
      </div>
    );
  }
  const vnetOptions = p.farm.vnets.map((v) => ({ id: v.id, label: `vnet ${v.name} (${v.cidr})` }));
  switch (s.kind) {
    case 'vnet':
      return <VnetForm key={s.item.id} {...p} item={s.item} />;
    case 'vm':
      return <VmForm key={s.item.id} {...p} item={s.item} vnetOptions={vnetOptions} />;
    case 'router':
      return <RouterForm key={s.item.id} {...p} item={s.item} vnetOptions={vnetOptions} />;
    case 'firewall':
      return <FirewallForm key={s.item.id} {...p} item={s.item} vnetOptions={vnetOptions} />;
    case 'externalLeg':
      return <ExternalLegForm key={`${s.item.id}:${s.item.ip}:${s.item.snat.join(',')}`} {...p} leg={s.item} />;
    default:
      return <EdgeProperties key={s.item.id} {...p} selection={s} />;
  }
}

function VnetForm(p: PropertiesProps & { item: FarmDetail['vnets'][number] }) {
  const v = p.item;
  const ctx = formCtx(p, v.id);
  const { draft, set, dirty } = useDraft({ name: v.name, cidr: v.cidr, vnid: String(v.vnid), mtu: String(v.mtu), security: v.security, ...dhcpDraft(v.dhcp) }, p.onDirty);
  const apply = () => {
    const { before, after } = changedFields(
      { name: v.name, cidr: v.cidr, vnid: v.vnid, mtu: v.mtu, security: v.security, dhcp: v.dhcp },
      { name: draft.name, cidr: draft.cidr, vnid: Number(draft.vnid), mtu: Number(draft.mtu), security: draft.security, dhcp: dhcpOfDraft(draft) },
    );
    void p.onEdit({ kind: 'vnet', id: v.id, before, after }, `edit vnet ${v.name}`);
  };
  return (
    <FormFrame title={`Vnet ${v.name}`} ctx={ctx} dirty={dirty} onSubmit={apply} onDelete={p.onDelete} deleteLabel="Delete vnet" general={ctx.general(['name', 'cidr', 'vnid', 'mtu', 'security', ...DHCP_FIELDS])}>
      <Field label="Name" error={ctx.err('name')}><input name="name" value={draft.name} onChange={(e) => set('name', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="CIDR" error={ctx.err('cidr')}><input name="cidr" value={draft.cidr} onChange={(e) => set('cidr', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="Vnet id" error={ctx.err('vnid')}><input name="vnid" inputMode="numeric" value={draft.vnid} onChange={(e) => set('vnid', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="MTU" error={ctx.err('mtu')}><input name="mtu" inputMode="numeric" value={draft.mtu} onChange={(e) => set('mtu', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="Security" error={ctx.err('security')}>
        <select name="security" value={draft.security} onChange={(e) => set('security', e.target.value as typeof v.security)} disabled={ctx.readOnly}>
          <option value="none">none</option><option value="auth">auth</option><option value="conf">conf</option>
        </select>
      </Field>
      <VnetDhcpFields draft={draft} set={set} ctx={ctx} />
    </FormFrame>
  );
}

function VmForm(p: PropertiesProps & { item: FarmDetail['vms'][number]; vnetOptions: { id: string; label: string }[] }) {
  const vm = p.item;
  const ctx = formCtx(p, vm.id);
  const { draft, set, dirty } = useDraft({
    name: vm.name, guestKind: vm.guestKind, hostId: vm.hostId ?? '',
    bandwidthMbps: vm.bandwidthMbps === null ? '' : String(vm.bandwidthMbps), burstKb: vm.burstKb === null ? '' : String(vm.burstKb),
  }, p.onDirty);
  const apply = () => {
    const { before, after } = changedFields(
      { name: vm.name, guestKind: vm.guestKind, hostId: vm.hostId, bandwidthMbps: vm.bandwidthMbps, burstKb: vm.burstKb },
      {
        name: draft.name, guestKind: draft.guestKind, hostId: draft.hostId || null,
        bandwidthMbps: optionalNumber(draft.bandwidthMbps), burstKb: optionalNumber(draft.burstKb),
      },
    );
    void p.onEdit({ kind: 'vm', id: vm.id, before, after }, `edit VM ${vm.name}`);
  };
  const vnetName = (id: string) => p.farm.vnets.find((v) => v.id === id)?.name ?? '?';
  const moving = vm.migratingToHostId !== null;
  const destination = p.hosts.find((h) => h.id === vm.migratingToHostId)?.name ?? vm.migratingToHostId;
  const stuck = vm.migrationError === null
    ? ''
    : vm.migrationRetryAt === null
      ? ` Its finish failed and is not tried again until retried (vm.retryMigration): ${vm.migrationError}`
      : ` Its finish failed and is tried again after ${vm.migrationRetryAt.toLocaleTimeString()}: ${vm.migrationError}`;
  return (
    <FormFrame title={`VM ${vm.name}`} ctx={ctx} dirty={dirty} onSubmit={apply} onDelete={p.onDelete} deleteLabel="Delete VM" general={ctx.general(['name', 'guestKind', 'hostId', 'bandwidthMbps', 'burstKb'])}>
      <Field label="Name" error={ctx.err('name')}><input name="name" value={draft.name} onChange={(e) => set('name', e.target.value)} disabled={ctx.readOnly} /></Field>
      <Field label="Guest" error={ctx.err('guestKind')}>
        <select name="guestKind" value={draft.guestKind} onChange={(e) => set('guestKind', e.target.value as typeof vm.guestKind)} disabled={ctx.readOnly}>
          <option value="emulated">emulated</option><option value="tap">tap</option>
        </select>
      </Field>
      <Field label="Host" error={ctx.err('hostId')} hint={moving ? `Live migration to ${destination} in progress: finished when that host reports the VM there.${stuck}` : undefined}>
        <HostSelect value={draft.hostId} onChange={(v) => set('hostId', v)} hosts={p.hosts} disabled={ctx.readOnly || moving} guestKind={draft.guestKind} />
      </Field>
      <Field label="Bandwidth limit (Mbit/s)" error={ctx.err('bandwidthMbps')} hint="Empty: no limit.">
        <input name="bandwidthMbps" inputMode="numeric" value={draft.bandwidthMbps} onChange={(e) => set('bandwidthMbps', e.target.value)} disabled={ctx.readOnly} />
      </Field>
      <Field label="Burst (KiB)" error={ctx.err('burstKb')}>
        <input name="burstKb" inputMode="numeric" value={draft.burstKb} onChange={(e) => set('burstKb', e.target.value)} disabled={ctx.readOnly || draft.bandwidthMbps === ''} />
      </Field>
      <h3>VIFs</h3>
      {vm.vifs.length === 0 ? <p className="hint">None yet: connect the VM to a vnet.</p> : (
        <ul className="plain">
          {vm.vifs.map((f) => (
            <li key={f.id}><button type="button" className="link" onClick={() => p.onSelect(f.id)}>{f.name} · {vnetName(f.vnetId)} · {f.ip} · {f.mac}</button></li>
          ))}
        </ul>
      )}
      <ConnectPicker from={vm.id} options={p.vnetOptions} onConnect={p.onConnect} disabled={ctx.readOnly} />
    </FormFrame>
  );
}

function RouterForm(p: PropertiesProps & { item: FarmDetail['routers'][number]; vnetOptions: { id: string; label: string }[] }) {
  const r = p.item;
  const ctx = formCtx(p, r.id);
  const { draft, set, dirty } = useDraft({ name: r.name, hostId: r.hostId ?? '' }, p.onDirty);
  const apply = () => {
    const { before, after } = changedFields({ name: r.name, hostId: r.hostId }, { name: draft.name, hostId: draft.hostId || null });
    void p.onEdit({ kind: 'router', id: r.id, before, after }, `edit router ${r.name}`);
  };
  const routers = p.farm.routers.filter((x) => x.id !== r.id).map((x) => ({ id: x.id, label: `router ${x.name}` }));
  return (
    <>
      <FormFrame title={`Router ${r.name}`} ctx={ctx} dirty={dirty} onSubmit={apply} onDelete={p.onDelete} deleteLabel="Delete router" general={ctx.general(['name', 'hostId', 'destination', 'nextHop', 'metric'])}>
        <Field label="Name" error={ctx.err('name')}><input name="name" value={draft.name} onChange={(e) => set('name', e.target.value)} disabled={ctx.readOnly} /></Field>
        <Field label="Host" error={ctx.err('hostId')}><HostSelect value={draft.hostId} onChange={(v) => set('hostId', v)} hosts={p.hosts} disabled={ctx.readOnly} /></Field>
        <RouterExtras {...p} router={r} ctx={ctx} />
        <ConnectPicker from={r.id} options={[...p.vnetOptions, ...routers]} onConnect={p.onConnect} disabled={ctx.readOnly} />
        <ExternalLegSection {...p} node={{ kind: 'router', id: r.id, name: r.name }} ctx={ctx} />
      </FormFrame>
      <LiveRouter farm={p.farm} routerId={r.id} />
    </>
  );
}

function FirewallForm(p: PropertiesProps & { item: FarmDetail['firewalls'][number]; vnetOptions: { id: string; label: string }[] }) {
  const f = p.item;
  const ctx = formCtx(p, f.id);
  const { draft, set, dirty } = useDraft({ name: f.name, hostId: f.hostId ?? '', defaultPolicy: f.defaultPolicy }, p.onDirty);
  const apply = () => {
    const { before, after } = changedFields(
      { name: f.name, hostId: f.hostId, defaultPolicy: f.defaultPolicy },
      { name: draft.name, hostId: draft.hostId || null, defaultPolicy: draft.defaultPolicy },
    );
    void p.onEdit({ kind: 'firewall', id: f.id, before, after }, `edit firewall ${f.name}`);
  };
  const vnetName = (id: string) => p.farm.vnets.find((v) => v.id === id)?.name ?? '?';
  return (
    <>
      <FormFrame title={`Firewall ${f.name}`} ctx={ctx} dirty={dirty} onSubmit={apply} onDelete={p.onDelete} deleteLabel="Delete firewall" general={ctx.general(['name', 'hostId', 'defaultPolicy'])}>
        <Field label="Name" error={ctx.err('name')}><input name="name" value={draft.name} onChange={(e) => set('name', e.target.value)} disabled={ctx.readOnly} /></Field>
        <Field label="Host" error={ctx.err('hostId')}><HostSelect value={draft.hostId} onChange={(v) => set('hostId', v)} hosts={p.hosts} disabled={ctx.readOnly} /></Field>
        <Field label="Default policy" error={ctx.err('defaultPolicy')}>
          <select name="defaultPolicy" value={draft.defaultPolicy} onChange={(e) => set('defaultPolicy', e.target.value as typeof f.defaultPolicy)} disabled={ctx.readOnly}>
            <option value="deny">deny</option><option value="allow">allow</option>
          </select>
        </Field>
        <h3>Interfaces</h3>
        {f.interfaces.length === 0 ? <p className="hint">None yet: connect the firewall to a vnet.</p> : (
          <ul className="plain">
            {f.interfaces.map((i) => (
              <li key={i.id}><button type="button" className="link" onClick={() => p.onSelect(i.id)}>{i.name} · {vnetName(i.vnetId)} · {i.ip}/{i.prefixLen}</button></li>
            ))}
          </ul>
        )}
        <ConnectPicker from={f.id} options={p.vnetOptions} onConnect={p.onConnect} disabled={ctx.readOnly} />
        <ExternalLegSection {...p} node={{ kind: 'firewall', id: f.id, name: f.name }} ctx={ctx} />
      </FormFrame>
      <RulesEditor key={JSON.stringify(f.rules)} firewall={f} ctx={ctx} onEdit={p.onEdit} onDirty={p.onDirty} />
      <LiveFirewall farm={p.farm} firewallId={f.id} />
    </>
  );
}
