'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC, errorInfo } from '../lib/trpc.ts';
import { useAuthRedirect } from '../lib/use-auth-redirect.ts';

export default function FarmsPage() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const farms = useQuery(trpc.farm.list.queryOptions({ limit: 200 }));
  const me = useQuery(trpc.auth.me.queryOptions());
  useAuthRedirect(farms.error, me.error);
  const [name, setName] = useState('');
  const create = useMutation(
    trpc.farm.create.mutationOptions({
      onSuccess: () => {
        setName('');
        return qc.invalidateQueries({ queryKey: trpc.farm.list.queryKey() });
      },
    }),
  );
  const canEdit = me.data && me.data.role !== 'viewer';
  const onCreate = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name, description: '' });
  };
  const createErr = create.error ? errorInfo(create.error) : null;
  return (
    <section>
      <h1>Farms</h1>
      {canEdit ? (
        <form onSubmit={onCreate} className="inline" aria-label="Create a farm">
          <label>
            New farm
            <input name="farmName" value={name} onChange={(e) => setName(e.target.value)} placeholder="name" required
              aria-invalid={createErr ? true : undefined} aria-describedby={createErr ? 'new-farm-err' : undefined} />
          </label>
          <button type="submit" disabled={create.isPending}>Create</button>
          {createErr ? <span id="new-farm-err" role="alert" className="error">{createErr.message}</span> : null}
        </form>
      ) : null}
      {farms.isLoading ? <p>Loading…</p> : null}
      {farms.error && errorInfo(farms.error).code !== 'UNAUTHORIZED' ? (
        <p role="alert" className="error">{errorInfo(farms.error).message}</p>
      ) : null}
      {farms.data ? (
        <table aria-label="Farms">
          <thead>
            <tr><th>Name</th><th>Description</th><th>Contents</th><th>Revision</th><th>Deployed</th><th /></tr>
          </thead>
          <tbody>
            {farms.data.items.map((f) => (
              <tr key={f.id}>
                <td><Link href={`/farms/${f.id}`}>{f.name}</Link></td>
                <td>{f.description}</td>
                <td className="muted">{f.counts.vms} VMs · {f.counts.vnets} vnets · {f.counts.routers} routers · {f.counts.firewalls} firewalls</td>
                <td>{f.revision}</td>
                <td>{f.deployedRevision ?? '—'}</td>
                <td>
                  <Link href={`/farms/${f.id}/deploy`}>Deploy</Link>{' · '}
                  <Link href={`/topology?farm=${f.id}`}>Live</Link>
                </td>
              </tr>
            ))}
            {farms.data.items.length === 0 ? (
              <tr><td colSpan={6}>No farms yet.</td></tr>
            ) : null}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
