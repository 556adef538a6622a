'use client';
// The farm's security groups panel (docs/security-groups.md): the farm's
// mode, each group with its rules (edited row by row, each change one
// undoable command) and its members, a new group. An API error shows under
// the rule or group it came from.
import { useState } from 'react';
import type { Command } from '../lib/graph/commands.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';
import type { ActionError } from './properties.tsx';
import {
  addRuleCommand, createGroupCommand, deleteGroupCommand, deleteRuleCommand, renameGroupCommand, setModeCommand, updateRuleCommand,
  type SecurityGroupView, type SecurityOps, type SecurityRuleSpec, type SecurityRuleView,
} from './security-ops.ts';

export interface SecurityGroupsProps {
  farm: FarmDetail;
  ops: SecurityOps;
  readOnly: boolean;
  error: ActionError | null;
  /** Runs a command; errors are kept for `target` (a rule id, `new:<group id>`, a group id or `groups`). */
  onRun(cmd: Command, target: string): Promise<boolean>;
}

interface Row {
  direction: 'ingress' | 'egress';
  protocol: 'any' | 'tcp' | 'udp' | 'icmp';
  ports: string;
  icmp: string;
  /** A CIDR, or `group:<id>`. */
  remote: string;
  description: string;
}

const range = (a: number | null, b: number | null) => (a === null ? '' : b === null || b === a ? String(a) : `${a}-${b}`);
const toRow = (r: SecurityRuleView): Row => ({
  direction: r.direction, protocol: r.protocol, ports: range(r.portFrom, r.portTo), icmp: range(r.icmpType, r.icmpCode).replace('-', '/'),
  remote: r.remoteGroupId !== null ? `group:${r.remoteGroupId}` : (r.remoteCidr ?? ''), description: r.description,
});
const NEW_ROW: Row = { direction: 'ingress', protocol: 'tcp', ports: '', icmp: '', remote: '0.0.0.0/0', description: '' };

/** "80" or "80-443" → the two numbers; the API names a bad value (NaN goes as typed and is refused there). */
function pair(text: string, sep: RegExp): [number | null, number | null] {
  const t = text.trim();
  if (t === '') return [null, null];
  const [a, b] = t.split(sep);
  return [Number(a), b === undefined ? null : Number(b)];
}

export function specOfRow(r: Row): SecurityRuleSpec {
  const [portFrom, portTo] = pair(r.ports, /[-–]/);
  const [icmpType, icmpCode] = pair(r.icmp, /\//);
  const remote = r.remote.startsWith('group:') ? { remoteGroupId: r.remote.slice(6), remoteCidr: null } : { remoteCidr: r.remote.trim() || null, remoteGroupId: null };
  return { direction: r.direction, protocol: r.protocol, portFrom, portTo, icmpType, icmpCode, ...remote, description: r.description };
}

function RuleRow({ p, group, rule, target, onSave, onRemove }: {
  p: SecurityGroupsProps; group: SecurityGroupView; rule: SecurityRuleView | null; target: string;
  onSave(spec: SecurityRuleSpec): Promise<boolean>; onRemove?: () => void;
}) {
  const initial = rule ? toRow(rule) : NEW_ROW;
  const [row, setRow] = useState<Row>(initial);
  const dirty = JSON.stringify(row) !== JSON.stringify(initial);
  const mine = p.error && p.error.targetId === target ? p.error : null;
  const label = rule ? `Rule ${group.rules.indexOf(rule) + 1} of ${group.name}` : `New rule of ${group.name}`;
  const set = (patch: Partial<Row>) => setRow((r) => ({ ...r, ...patch }));
  const bad = (...fields: string[]) => (mine && mine.field !== null && fields.includes(mine.field) ? true : undefined);
  return (
    <tr className={mine ? 'has-error' : undefined}>
      <td>
        <select aria-label={`${label} direction`} value={row.direction} disabled={p.readOnly} onChange={(e) => set({ direction: e.target.value as Row['direction'] })}>
          <option value="ingress">ingress</option><option value="egress">egress</option>
        </select>
      </td>
      <td>
        <select aria-label={`${label} protocol`} value={row.protocol} disabled={p.readOnly} onChange={(e) => set({ protocol: e.target.value as Row['protocol'] })}>
          <option value="any">any</option><option value="tcp">tcp</option><option value="udp">udp</option><option value="icmp">icmp</option>
        </select>
      </td>
      <td>
        {row.protocol === 'icmp'
          ? <input aria-label={`${label} ICMP type/code`} placeholder="type/code" value={row.icmp} style={{ width: '5em' }} disabled={p.readOnly} aria-invalid={bad('icmpType', 'icmpCode')} onChange={(e) => set({ icmp: e.target.value })} />
          : <input aria-label={`${label} ports`} placeholder={row.protocol === 'any' ? '' : '80-443'} value={row.ports} style={{ width: '5em' }} disabled={p.readOnly || row.protocol === 'any'} aria-invalid={bad('portFrom', 'portTo')} onChange={(e) => set({ ports: e.target.value })} />}
      </td>
      <td>
        <select aria-label={`${label} remote kind`} value={row.remote.startsWith('group:') ? 'group' : 'cidr'} disabled={p.readOnly}
          onChange={(e) => set({ remote: e.target.value === 'group' ? `group:${group.id}` : '0.0.0.0/0' })}>
          <option value="cidr">CIDR</option><option value="group">group</option>
        </select>
        {row.remote.startsWith('group:') ? (
          <select aria-label={`${label} remote group`} value={row.remote} disabled={p.readOnly} aria-invalid={bad('remoteGroupId')} onChange={(e) => set({ remote: e.target.value })}>
            {p.farm.securityGroups.map((g) => <option key={g.id} value={`group:${g.id}`}>{g.name}</option>)}
          </select>
        ) : (
          <input aria-label={`${label} remote CIDR`} value={row.remote} style={{ width: '8em' }} disabled={p.readOnly} aria-invalid={bad('remoteCidr')} onChange={(e) => set({ remote: e.target.value })} />
        )}
      </td>
      <td><input aria-label={`${label} description`} value={row.description} style={{ width: '8em' }} disabled={p.readOnly} onChange={(e) => set({ description: e.target.value })} /></td>
      <td className="row-actions">
        <button type="button" className="icon" aria-label={rule ? `Save ${label.toLowerCase()}` : `Add rule to ${group.name}`} disabled={p.readOnly || (rule !== null && !dirty)}
          onClick={() => void onSave(specOfRow(row)).then((ok) => { if (ok && !rule) setRow(NEW_ROW); })}>{rule ? '✓' : '+'}</button>
        {onRemove ? <button type="button" className="icon" aria-label={`Remove ${label.toLowerCase()}`} disabled={p.readOnly} onClick={onRemove}>✕</button> : null}
        {mine ? <p className="field-error" role="alert">{mine.message}</p> : null}
      </td>
    </tr>
  );
}

function GroupCard({ p, group }: { p: SecurityGroupsProps; group: SecurityGroupView }) {
  const [name, setName] = useState(group.name);
  const mine = p.error && p.error.targetId === group.id ? p.error : null;
  const vifName = new Map(p.farm.vms.flatMap((vm) => vm.vifs.map((f) => [f.id, `${vm.name}/${f.name}`] as const)));
  return (
    <details className="sg-group" open={group.rules.length < 8}>
      <summary>{group.name} <small>({group.rules.length} rule{group.rules.length === 1 ? '' : 's'}, {group.members.length} member{group.members.length === 1 ? '' : 's'})</small></summary>
      <div className="table-scroll">
        <table aria-label={`Rules of security group ${group.name}`}>
          <thead><tr><th>Direction</th><th>Proto</th><th>Ports / ICMP</th><th>Remote</th><th>Note</th><th /></tr></thead>
          <tbody>
            {group.rules.map((r) => (
              <RuleRow key={`${r.id}:${JSON.stringify(r)}`} p={p} group={group} rule={r} target={r.id}
                onSave={(spec) => p.onRun(updateRuleCommand(p.ops, group, r, spec), r.id)}
                onRemove={() => void p.onRun(deleteRuleCommand(p.ops, group, r), r.id)} />
            ))}
            <RuleRow p={p} group={group} rule={null} target={`new:${group.id}`} onSave={(spec) => p.onRun(addRuleCommand(p.ops, group, spec), `new:${group.id}`)} />
          </tbody>
        </table>
      </div>
      <p className="hint">Members: {group.members.length ? group.members.map((id) => vifName.get(id) ?? id).join(', ') : 'none (choose groups in a VIF’s properties)'}</p>
      <div className="props-actions">
        <input aria-label={`Name of security group ${group.name}`} value={name} onChange={(e) => setName(e.target.value)} disabled={p.readOnly} />
        <button type="button" className="secondary" disabled={p.readOnly || name === group.name}
          onClick={() => void p.onRun(renameGroupCommand(p.ops, group, { name, description: group.description }), group.id)}>Rename</button>
        <button type="button" className="danger" disabled={p.readOnly} onClick={() => void p.onRun(deleteGroupCommand(p.ops, group), group.id)}>Delete group</button>
      </div>
      {mine ? <p className="error" role="alert">{mine.message}</p> : null}
    </details>
  );
}

export function SecurityGroupsPanel(p: SecurityGroupsProps) {
  const [name, setName] = useState('');
  const mine = p.error && p.error.targetId === 'groups' ? p.error : null;
  return (
    <section className="security-groups" aria-label="Security groups">
      <h2>Security groups</h2>
      <p className="hint">A VIF in one or more groups passes only what a rule of one of them allows (replies of allowed connections pass); a VIF in none is not filtered.</p>
      <label className="inline-label">
        New VIFs
        <select aria-label="Security group mode" value={p.farm.securityGroupMode} disabled={p.readOnly}
          onChange={(e) => void p.onRun(setModeCommand(p.ops, p.farm.securityGroupMode, e.target.value as typeof p.farm.securityGroupMode), 'groups')}>
          <option value="default">join the group “default”</option>
          <option value="none">join no group</option>
        </select>
      </label>
      {p.farm.securityGroups.map((g) => <GroupCard key={`${g.id}:${g.name}`} p={p} group={g} />)}
      {/* biome-ignore lint/a11y/useSemanticElements: a row of controls styled as one line; a fieldset would bring its own border and legend */}
      <div className="route-add" role="group" aria-label="Add security group">
        <label>Name<input name="securityGroupName" value={name} placeholder="web" onChange={(e) => setName(e.target.value)} disabled={p.readOnly} /></label>
        <button type="button" disabled={p.readOnly || !name} onClick={() => void p.onRun(createGroupCommand(p.ops, name), 'groups').then((ok) => ok && setName(''))}>Add group</button>
      </div>
      {mine ? <p className="error" role="alert">{mine.message}</p> : null}
    </section>
  );
}
