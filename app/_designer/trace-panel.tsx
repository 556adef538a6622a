'use client';
// The packet trace of a deployed farm (farm.trace): source VIF (or an
// external address), destination, protocol and port in; the hops out, each
// with its verdict and what decided it; the path highlighted on the drawing
// and the failing hop in red with its reason.
import type { Core } from 'cytoscape';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type RefObject } from 'react';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../server/routers/_app.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { errorInfo, useTRPC } from '../lib/trpc.ts';
import { tracePath } from './trace-path.ts';

type Trace = inferRouterOutputs<AppRouter>['farm']['trace'];
type Protocol = 'tcp' | 'udp' | 'icmp';

const VERDICT_TEXT = { pass: 'pass', drop: 'DROP', deliver: 'deliver', unknown: 'unknown' } as const;

function highlight(cy: Core | null, farm: FarmDetail, t: Trace | null): void {
  if (!cy) return;
  cy.batch(() => {
    cy.elements('.trace-path, .trace-fail').removeClass('trace-path trace-fail');
    if (!t) return;
    const { path, failed } = tracePath(farm, t.hops);
    for (const id of path) cy.getElementById(id).addClass('trace-path');
    for (const id of failed) cy.getElementById(id).addClass('trace-fail');
  });
}

export function TracePanel({ farm, cyRef }: { farm: FarmDetail; cyRef: RefObject<Core | null> }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const vifs = farm.vms.flatMap((vm) => vm.vifs.map((f) => ({ id: f.id, label: `${vm.name}/${f.name} (${f.ip})` })));
  const [from, setFrom] = useState(vifs[0]?.id ?? 'external');
  const [external, setExternal] = useState('');
  const [to, setTo] = useState('');
  const [protocol, setProtocol] = useState<Protocol>('tcp');
  const [port, setPort] = useState('80');
  const [live, setLive] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<Trace | null>(null);

  useEffect(() => highlight(cyRef.current, farm, result), [cyRef, farm, result]);
  useEffect(() => () => highlight(cyRef.current, farm, null), [cyRef, farm]);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const input = {
        id: farm.id, from: from === 'external' ? { external: external.trim() } : { vif: from }, to: to.trim(), protocol,
        port: protocol === 'icmp' ? null : Number(port), live,
      };
      setResult(await qc.fetchQuery({ ...trpc.farm.trace.queryOptions(input), staleTime: 0 }));
    } catch (err) {
      setResult(null);
      setError(errorInfo(err).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="trace-panel" aria-label="Packet trace" data-testid="trace-panel">
      <h2>Packet trace</h2>
      <p className="hint">Follows a new flow through what is deployed (deploy after editing to trace the change).</p>
      <form className="trace-form" onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <label>From
          <select aria-label="Trace from" value={from} onChange={(e) => setFrom(e.target.value)}>
            {vifs.map((v) => <option key={v.id} value={v.id}>{v.label}</option>)}
            <option value="external">an external address…</option>
          </select>
        </label>
        {from === 'external' ? <label>External address <input aria-label="Trace external address" value={external} onChange={(e) => setExternal(e.target.value)} placeholder="203.0.113.7" /></label> : null}
        <label>To <input aria-label="Trace to" value={to} onChange={(e) => setTo(e.target.value)} placeholder="10.0.0.10" /></label>
        <label>Protocol
          <select aria-label="Trace protocol" value={protocol} onChange={(e) => setProtocol(e.target.value as Protocol)}>
            <option value="tcp">TCP</option><option value="udp">UDP</option><option value="icmp">ICMP echo</option>
          </select>
        </label>
        {protocol === 'icmp' ? null : <label>Port <input aria-label="Trace port" value={port} onChange={(e) => setPort(e.target.value)} style={{ width: '5em' }} /></label>}
        <label className="inline-label"><input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> live state</label>
        <button type="submit" disabled={busy || !to.trim()}>{busy ? 'Tracing…' : 'Trace'}</button>
      </form>
      {error ? <p role="alert" className="error">{error}</p> : null}
      {result ? (
        <div className="trace-result">
          <p data-testid="trace-verdict" className={result.verdict === 'delivered' ? 'trace-ok' : 'trace-bad'}>
            {result.verdict === 'delivered' ? 'Delivered' : `${result.verdict === 'dropped' ? 'Dropped' : 'Undecided'} at hop ${result.failedAt! + 1}`}
            {' '}({result.flow.protocol} {result.flow.src} → {result.flow.dst}{result.flow.port === null ? '' : ` port ${result.flow.port}`})
          </p>
          <ol className="trace-hops">
            {result.hops.map((h, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: hops are a fixed list per answer
              <li key={i} data-testid="trace-hop" data-verdict={h.verdict} className={`hop-${h.verdict}`}>
                <strong>{VERDICT_TEXT[h.verdict]}</strong> {h.step} · {h.node.name}{h.host ? ` on ${h.host.name}` : ''}
                <div>{h.reason}</div>
                {h.decidedBy ? <div className="hint">by {h.decidedBy.text}</div> : null}
                {h.live ? <div className={h.live.agrees ? 'hint' : 'error'}>live{h.live.agrees ? '' : ' — disagrees'}: {h.live.state}</div> : null}
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </section>
  );
}
