'use client';
// The audit log: who did what to which object, newest first, with the
// recorded before/after values.
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { errorInfo, useTRPC } from '../lib/trpc.ts';
import { useAuthRedirect } from '../lib/use-auth-redirect.ts';

const PAGE = 50;

export default function AuditPage() {
  const trpc = useTRPC();
  const [entity, setEntity] = useState('');
  const [action, setAction] = useState('');
  const q = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { limit: PAGE, entity: entity || undefined, action: action || undefined },
      { getNextPageParam: (last) => last.nextCursor ?? undefined },
    ),
  );
  useAuthRedirect(q.error);
  const rows = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <h1>Audit log</h1>
      <form className="inline" aria-label="Filter audit log" onSubmit={(e) => e.preventDefault()}>
        <label>Object kind<input name="entity" value={entity} onChange={(e) => setEntity(e.target.value)} placeholder="farm, vm, host…" /></label>
        <label>Action<input name="action" value={action} onChange={(e) => setAction(e.target.value)} placeholder="vm.create" /></label>
      </form>
      {q.error && errorInfo(q.error).code !== 'UNAUTHORIZED' ? <p role="alert" className="error">{errorInfo(q.error).message}</p> : null}
      <table aria-label="Audit entries">
        <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Object</th><th>Details</th></tr></thead>
        <tbody>
          {rows.map((a) => (
            <tr key={a.id}>
              <td>{a.createdAt.toLocaleString()}</td>
              <td>{a.actorName} <span className="muted">({a.actorKind})</span></td>
              <td><code>{a.action}</code></td>
              <td>{a.entity}{a.entityId ? <span className="muted"> {a.entityId.slice(0, 8)}</span> : null}</td>
              <td>
                {a.before != null || a.after != null ? (
                  <details>
                    <summary>before / after</summary>
                    <pre className="json">{JSON.stringify({ before: a.before ?? null, after: a.after ?? null }, null, 2)}</pre>
                  </details>
                ) : <span className="muted">—</span>}
              </td>
            </tr>
          ))}
          {!q.isLoading && rows.length === 0 ? <tr><td colSpan={5}>No entries.</td></tr> : null}
        </tbody>
      </table>
      {q.hasNextPage ? (
        <button type="button" className="secondary" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {q.isFetchingNextPage ? 'Loading…' : 'Load older entries'}
        </button>
      ) : null}
    </section>
  );
}
