'use client';
// External networks on the hosts page: each with its LAN segment, subnet,
// gateway, pool use and where each host reaches it (bindings). Admins define,
// bind, unbind and delete them; everyone else sees them (farms attach legs).
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Field } from '../_components/field.tsx';
import { useTRPC, errorInfo } from '../lib/trpc.ts';

const EMPTY = { segmentId: '', name: '', cidr: '', gateway: '', poolStart: '', poolEnd: '' };
const EMPTY_BIND = { id: '', hostId: '', interface: '', vid: '' };

export function ExternalNetworks({ isAdmin, hosts }: { isAdmin: boolean; hosts: { id: string; name: string; segmentId: string | null }[] }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const networks = useQuery({ ...trpc.externalNetwork.list.queryOptions({ limit: 200 }), refetchInterval: 10_000 });
  const segments = useQuery(trpc.segment.list.queryOptions({ limit: 200 }));
  const [form, setForm] = useState(EMPTY);
  const [bind, setBind] = useState(EMPTY_BIND);
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.externalNetwork.list.queryKey() });
  const create = useMutation(trpc.externalNetwork.create.mutationOptions({ onSuccess: () => { setForm(EMPTY); return refresh(); } }));
  const bindM = useMutation(trpc.externalNetwork.bind.mutationOptions({ onSuccess: () => { setBind(EMPTY_BIND); return refresh(); } }));
  const unbind = useMutation(trpc.externalNetwork.unbind.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.externalNetwork.delete.mutationOptions({ onSuccess: refresh }));

  const onCreate = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(form);
  };
  const onBind = (e: FormEvent) => {
    e.preventDefault();
    bindM.mutate({ id: bind.id, hostId: bind.hostId, interface: bind.interface, vid: bind.vid === '' ? null : Number(bind.vid) });
  };
  const err = create.error ? errorInfo(create.error) : null;
  const at = (f: string) => (err?.field === f ? err.message : null);
  const bindErr = bindM.error ? errorInfo(bindM.error) : null;
  const bindAt = (f: string) => (bindErr?.field === f ? bindErr.message : null);
  const other = [unbind.error, remove.error].find(Boolean);
  const chosen = networks.data?.items.find((n) => n.id === bind.id);
  const bindable = hosts.filter((h) => !chosen || h.segmentId === chosen.segmentId);

  return (
    <section aria-label="External networks">
      <h2>External networks</h2>
      <p className="hint">Networks outside the farms that hosts of a LAN segment reach; routers and firewalls of farms get legs on them (SNAT, floating IPs, port forwards).</p>
      {networks.data ? (
        <table aria-label="External networks">
          <thead>
            <tr><th>Name</th><th>LAN segment</th><th>Subnet</th><th>Gateway</th><th>Pool</th><th>Used</th><th>Bound on</th>{isAdmin ? <th /> : null}</tr>
          </thead>
          <tbody>
            {networks.data.items.map((n) => (
              <tr key={n.id}>
                <th scope="row">{n.name}</th>
                <td>{n.segmentName}</td>
                <td>{n.cidr}</td>
                <td>{n.gateway}</td>
                <td>{n.poolStart}–{n.poolEnd}</td>
                <td>{n.poolUsed} / {n.poolSize}</td>
                <td>
                  {n.bindings.length === 0 ? 'no host' : n.bindings.map((b) => (
                    <span key={b.hostId} className="chip">
                      {b.hostName}: {b.interface}{b.vid === null ? '' : ` VLAN ${b.vid}`}
                      {isAdmin ? (
                        <button type="button" className="link" aria-label={`Unbind ${n.name} on ${b.hostName}`} onClick={() => unbind.mutate({ id: n.id, hostId: b.hostId })}>×</button>
                      ) : null}
                    </span>
                  ))}
                </td>
                {isAdmin ? (
                  <td><button type="button" className="link" onClick={() => remove.mutate({ id: n.id })} disabled={remove.isPending}>Delete</button></td>
                ) : null}
              </tr>
            ))}
            {networks.data.items.length === 0 ? <tr><td colSpan={8}>No external networks yet.</td></tr> : null}
          </tbody>
        </table>
      ) : null}
      {other ? <p role="alert" className="error">{errorInfo(other).message}</p> : null}
      {isAdmin ? (
        <>
          <form onSubmit={onCreate} className="card" aria-label="Add external network">
            <h3>Add an external network</h3>
            <div className="form-row">
              <Field label="LAN segment" error={at('segmentId')}>
                <select name="extSegment" value={form.segmentId} onChange={(e) => setForm({ ...form, segmentId: e.target.value })} required>
                  <option value="">choose…</option>
                  {(segments.data?.items ?? []).map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
                </select>
              </Field>
              <Field label="Name" error={at('name')}><input name="extName" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required /></Field>
              <Field label="Subnet" error={at('cidr')}><input name="extCidr" value={form.cidr} placeholder="198.51.100.0/24" onChange={(e) => setForm({ ...form, cidr: e.target.value })} required /></Field>
              <Field label="Gateway" error={at('gateway')}><input name="extGateway" value={form.gateway} placeholder="198.51.100.1" onChange={(e) => setForm({ ...form, gateway: e.target.value })} required /></Field>
              <Field label="Pool from" error={at('poolStart')}><input name="extPoolStart" value={form.poolStart} placeholder="198.51.100.10" onChange={(e) => setForm({ ...form, poolStart: e.target.value })} required /></Field>
              <Field label="Pool to" error={at('poolEnd')}><input name="extPoolEnd" value={form.poolEnd} placeholder="198.51.100.99" onChange={(e) => setForm({ ...form, poolEnd: e.target.value })} required /></Field>
              <button type="submit" disabled={create.isPending}>Add network</button>
            </div>
            {err && !['segmentId', 'name', 'cidr', 'gateway', 'poolStart', 'poolEnd'].includes(err.field ?? '') ? <p role="alert" className="error">{err.message}</p> : null}
          </form>
          <form onSubmit={onBind} className="card" aria-label="Bind external network">
            <h3>Bind on a host</h3>
            <div className="form-row">
              <Field label="Network" error={bindAt('id')}>
                <select name="bindNetwork" value={bind.id} onChange={(e) => setBind({ ...bind, id: e.target.value })} required>
                  <option value="">choose…</option>
                  {(networks.data?.items ?? []).map((n) => <option key={n.id} value={n.id}>{n.name} ({n.segmentName})</option>)}
                </select>
              </Field>
              <Field label="Host" error={bindAt('hostId')}>
                <select name="bindHost" value={bind.hostId} onChange={(e) => setBind({ ...bind, hostId: e.target.value })} required>
                  <option value="">choose…</option>
                  {bindable.map((h) => <option key={h.id} value={h.id}>{h.name}</option>)}
                </select>
              </Field>
              <Field label="Host interface" error={bindAt('interface')}><input name="bindInterface" value={bind.interface} placeholder="enp1s0" onChange={(e) => setBind({ ...bind, interface: e.target.value })} required /></Field>
              <Field label="VLAN (empty: untagged)" error={bindAt('vid')}><input name="bindVid" inputMode="numeric" value={bind.vid} onChange={(e) => setBind({ ...bind, vid: e.target.value })} /></Field>
              <button type="submit" disabled={bindM.isPending}>Bind</button>
            </div>
            {bindErr && !['id', 'hostId', 'interface', 'vid'].includes(bindErr.field ?? '') ? <p role="alert" className="error">{bindErr.message}</p> : null}
          </form>
        </>
      ) : null}
    </section>
  );
}
