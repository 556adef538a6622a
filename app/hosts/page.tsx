'use client';
// Hosts: liveness, last report, generations, LAN segment; admins add hosts
// and issue enrollment tokens (each shown once, here only); external networks
// and where each host reaches them.
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Field } from '../_components/field.tsx';
import { useTRPC, errorInfo } from '../lib/trpc.ts';
import { useAuthRedirect } from '../lib/use-auth-redirect.ts';
import { guestKindsText } from '../lib/host-guests.ts';
import { ExternalNetworks } from './external-networks.tsx';

interface ShownToken {
  host: string;
  token: string;
  expiresAt: Date;
}

export default function HostsPage() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const hosts = useQuery({ ...trpc.host.list.queryOptions({ limit: 200 }), refetchInterval: 5_000 });
  const segments = useQuery(trpc.segment.list.queryOptions({ limit: 200 }));
  const me = useQuery(trpc.auth.me.queryOptions());
  useAuthRedirect(hosts.error, me.error);
  const isAdmin = me.data?.role === 'admin';
  const [shown, setShown] = useState<ShownToken | null>(null);
  const [form, setForm] = useState({ name: '', address: '', port: '1798', segmentId: '' });

  const create = useMutation(trpc.host.create.mutationOptions({
    onSuccess: (r) => {
      setShown({ host: r.host.name, token: r.enrollmentToken, expiresAt: r.enrollmentExpiresAt });
      setForm({ name: '', address: '', port: '1798', segmentId: '' });
      return qc.invalidateQueries({ queryKey: trpc.host.list.queryKey() });
    },
  }));
  const token = useMutation(trpc.host.createEnrollmentToken.mutationOptions({
    onSuccess: (r) => {
      const h = hosts.data?.items.find((x) => x.id === r.hostId);
      setShown({ host: h?.name ?? r.hostId, token: r.enrollmentToken, expiresAt: r.expiresAt });
    },
  }));
  const onCreate = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name: form.name, address: form.address, port: Number(form.port), segmentId: form.segmentId || null });
  };
  const err = create.error ? errorInfo(create.error) : null;
  const at = (f: string) => (err?.field === f ? err.message : null);

  return (
    <section>
      <h1>Hosts</h1>
      {shown ? (
        <div className="banner token" role="alert" aria-label="Enrollment token">
          <p>Enrollment token for <strong>{shown.host}</strong> — shown only now; it works once, until {shown.expiresAt.toLocaleString()}:</p>
          <p><code data-testid="enrollment-token" className="secret">{shown.token}</code></p>
          <p className="hint">On the host: <code>npx softudc-agent --console {typeof window === 'undefined' ? '' : window.location.origin} --token {shown.token}</code></p>
          <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(shown.token)}>Copy</button>{' '}
          <button type="button" onClick={() => setShown(null)}>Done</button>
        </div>
      ) : null}
      {hosts.error && errorInfo(hosts.error).code !== 'UNAUTHORIZED' ? <p role="alert" className="error">{errorInfo(hosts.error).message}</p> : null}
      {hosts.data ? (
        <table aria-label="Hosts">
          <thead>
            <tr><th>Name</th><th>Care-of address</th><th>LAN segment</th><th>Status</th><th>Last seen</th><th>Applied / desired generation</th><th>Agent</th><th>Guests</th>{isAdmin ? <th /> : null}</tr>
          </thead>
          <tbody>
            {hosts.data.items.map((h) => (
              <tr key={h.id}>
                <th scope="row"><Link href={`/hosts/${h.id}`}>{h.name}</Link></th>
                <td>{h.address}:{h.port}</td>
                <td>{h.segmentName ?? '—'}</td>
                <td><span className={`badge ${h.status}`}>{h.status}</span>{h.enrolled ? '' : ' (not enrolled)'}</td>
                <td>{h.lastSeenAt ? h.lastSeenAt.toLocaleString() : 'never'}</td>
                <td>{h.appliedGeneration} / {h.desiredGeneration}</td>
                <td>{h.agentVersion ?? '—'}</td>
                <td>{guestKindsText(h.capabilities)}</td>
                {isAdmin ? (
                  <td><button type="button" className="link" onClick={() => token.mutate({ id: h.id })} disabled={token.isPending}>New enrollment token</button></td>
                ) : null}
              </tr>
            ))}
            {hosts.data.items.length === 0 ? <tr><td colSpan={9}>No hosts yet.</td></tr> : null}
          </tbody>
        </table>
      ) : null}
      {token.error ? <p role="alert" className="error">{errorInfo(token.error).message}</p> : null}
      {isAdmin ? (
        <form onSubmit={onCreate} className="card add-host" aria-label="Add host">
          <h2>Add a host</h2>
          <div className="form-row">
            <Field label="Host name" error={at('name')}><input name="hostName" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required /></Field>
            <Field label="Care-of address" error={at('address')}><input name="address" value={form.address} placeholder="192.0.2.10" onChange={(e) => setForm({ ...form, address: e.target.value })} required /></Field>
            <Field label="Port" error={at('port')}><input name="port" inputMode="numeric" value={form.port} onChange={(e) => setForm({ ...form, port: e.target.value })} /></Field>
            <Field label="LAN segment" error={at('segmentId')}>
              <select name="segmentId" value={form.segmentId} onChange={(e) => setForm({ ...form, segmentId: e.target.value })}>
                <option value="">none</option>
                {(segments.data?.items ?? []).map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
              </select>
            </Field>
            <button type="submit" disabled={create.isPending}>Add host</button>
          </div>
          {err && !['name', 'address', 'port', 'segmentId'].includes(err.field ?? '') ? <p role="alert" className="error">{err.message}</p> : null}
        </form>
      ) : null}
      <ExternalNetworks isAdmin={isAdmin} hosts={hosts.data?.items ?? []} />
    </section>
  );
}
