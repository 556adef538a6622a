'use client';
// A firewall's ordered rules as an editable table. Saving replaces the whole
// list (firewall.setRules) as one undoable edit; an error naming
// `rules.<n>.<field>` shows in that rule's cell.
import { useEffect, useState } from 'react';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { rulesOf, type Edit } from './farm-commands.ts';
import type { RuleInput } from './farm-ops.ts';
import type { FormCtx } from './properties.tsx';
import type { DirtyReporter } from './use-draft.ts';

interface Row {
  action: 'allow' | 'deny';
  protocol: 'any' | 'tcp' | 'udp' | 'icmp';
  source: string;
  destination: string;
  portFrom: string;
  portTo: string;
  interface: string;
  log: boolean;
  description: string;
}

const toRow = (r: RuleInput): Row => ({
  action: r.action, protocol: r.protocol ?? 'any', source: r.source ?? '0.0.0.0/0', destination: r.destination ?? '0.0.0.0/0',
  portFrom: r.portFrom == null ? '' : String(r.portFrom), portTo: r.portTo == null ? '' : String(r.portTo),
  interface: r.interface ?? '', log: r.log ?? false, description: r.description ?? '',
});
const port = (s: string) => (s.trim() === '' ? null : Number(s));
const toRule = (r: Row): RuleInput => ({
  action: r.action, protocol: r.protocol, source: r.source, destination: r.destination, portFrom: port(r.portFrom), portTo: port(r.portTo),
  interface: r.interface || null, log: r.log, description: r.description,
});
const NEW_ROW: Row = { action: 'allow', protocol: 'tcp', source: '0.0.0.0/0', destination: '0.0.0.0/0', portFrom: '', portTo: '', interface: '', log: false, description: '' };

export function RulesEditor({ firewall, ctx, onEdit, onDirty }: {
  firewall: FarmDetail['firewalls'][number]; ctx: FormCtx; onEdit(edit: Edit, label: string): Promise<boolean>; onDirty: DirtyReporter;
}) {
  const saved = rulesOf(firewall);
  const [rows, setRows] = useState<Row[]>(() => saved.map(toRow));
  const dirty = JSON.stringify(rows) !== JSON.stringify(saved.map(toRow));
  useEffect(() => onDirty('rules', dirty), [dirty, onDirty]);
  useEffect(() => () => onDirty('rules', false), [onDirty]);
  const set = (i: number, patch: Partial<Row>) => setRows((rs) => rs.map((r, k) => (k === i ? { ...r, ...patch } : r)));
  const move = (i: number, by: number) =>
    setRows((rs) => {
      const j = i + by;
      if (j < 0 || j >= rs.length) return rs;
      const next = [...rs];
      [next[i], next[j]] = [next[j]!, next[i]!];
      return next;
    });
  const err = (i: number, field: string) => ctx.err(`rules.${i}.${field}`);
  const rowErr = (i: number) => ctx.err(`rules.${i}`);
  const cell = (i: number, field: keyof Row, label: string, width = '7em') => (
    <td>
      <input aria-label={`Rule ${i + 1} ${label}`} value={String(rows[i]![field])} style={{ width }} disabled={ctx.readOnly}
        aria-invalid={err(i, field) ? true : undefined} onChange={(e) => set(i, { [field]: e.target.value } as Partial<Row>)} />
      {err(i, field) ? <p className="field-error" role="alert">{err(i, field)}</p> : null}
    </td>
  );
  return (
    <section className="rules" aria-label={`Rules of firewall ${firewall.name}`}>
      <h3>Rules <small>(first match wins; otherwise {firewall.defaultPolicy})</small></h3>
      <div className="table-scroll">
        <table>
          <thead>
            <tr><th>#</th><th>Action</th><th>Proto</th><th>Source</th><th>Destination</th><th>Ports</th><th>Interface</th><th>Log</th><th /></tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rules are ordered and have no identity of their own; the position is the rule
              <tr key={i} className={rowErr(i) ? 'has-error' : undefined}>
                <td>{i + 1}</td>
                <td>
                  <select aria-label={`Rule ${i + 1} action`} value={r.action} disabled={ctx.readOnly} onChange={(e) => set(i, { action: e.target.value as Row['action'] })}>
                    <option value="allow">allow</option><option value="deny">deny</option>
                  </select>
                </td>
                <td>
                  <select aria-label={`Rule ${i + 1} protocol`} value={r.protocol} disabled={ctx.readOnly} onChange={(e) => set(i, { protocol: e.target.value as Row['protocol'] })}>
                    <option value="any">any</option><option value="tcp">tcp</option><option value="udp">udp</option><option value="icmp">icmp</option>
                  </select>
                </td>
                {cell(i, 'source', 'source')}
                {cell(i, 'destination', 'destination')}
                <td className="ports">
                  <input aria-label={`Rule ${i + 1} first port`} value={r.portFrom} style={{ width: '4.2em' }} disabled={ctx.readOnly}
                    aria-invalid={err(i, 'portFrom') ? true : undefined} onChange={(e) => set(i, { portFrom: e.target.value })} />–
                  <input aria-label={`Rule ${i + 1} last port`} value={r.portTo} style={{ width: '4.2em' }} disabled={ctx.readOnly}
                    aria-invalid={err(i, 'portTo') ? true : undefined} onChange={(e) => set(i, { portTo: e.target.value })} />
                  {err(i, 'portFrom') ?? err(i, 'portTo') ? <p className="field-error" role="alert">{err(i, 'portFrom') ?? err(i, 'portTo')}</p> : null}
                </td>
                <td>
                  <select aria-label={`Rule ${i + 1} interface`} value={r.interface} disabled={ctx.readOnly} onChange={(e) => set(i, { interface: e.target.value })}>
                    <option value="">any</option>
                    {firewall.interfaces.map((f) => <option key={f.id} value={f.name}>{f.name}</option>)}
                  </select>
                  {err(i, 'interface') ? <p className="field-error" role="alert">{err(i, 'interface')}</p> : null}
                </td>
                <td><input type="checkbox" aria-label={`Rule ${i + 1} log`} checked={r.log} disabled={ctx.readOnly} onChange={(e) => set(i, { log: e.target.checked })} /></td>
                <td className="row-actions">
                  <button type="button" className="icon" aria-label={`Move rule ${i + 1} up`} disabled={ctx.readOnly || i === 0} onClick={() => move(i, -1)}>↑</button>
                  <button type="button" className="icon" aria-label={`Move rule ${i + 1} down`} disabled={ctx.readOnly || i === rows.length - 1} onClick={() => move(i, 1)}>↓</button>
                  <button type="button" className="icon" aria-label={`Remove rule ${i + 1}`} disabled={ctx.readOnly} onClick={() => setRows((rs) => rs.filter((_, k) => k !== i))}>✕</button>
                </td>
              </tr>
            ))}
            {rows.length === 0 ? <tr><td colSpan={9}>No rules: every packet gets the default policy.</td></tr> : null}
          </tbody>
        </table>
      </div>
      <div className="props-actions">
        <button type="button" className="secondary" disabled={ctx.readOnly} onClick={() => setRows((rs) => [...rs, { ...NEW_ROW }])}>Add rule</button>
        <button type="button" disabled={ctx.readOnly || !dirty}
          onClick={() => void onEdit({ kind: 'rules', id: firewall.id, before: saved, after: rows.map(toRule) }, `edit rules of ${firewall.name}`)}>
          Save rules
        </button>
      </div>
    </section>
  );
}
