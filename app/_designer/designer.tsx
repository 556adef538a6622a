'use client';
// The farm designer: palette, canvas, properties. Every change is an API
// operation run through the undo stack with the farm revision this page
// works from; a stale revision stops editing with a clear message and a
// reload. Positions are saved separately (farm.saveLayout), a moment after
// the last move.
// Over 300 lines: the page wires the canvas, the undo stack, the properties
// panel and the farm's change stream together; each piece lives in its own file.
import type { Core } from 'cytoscape';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { ConfirmDialog } from '../_components/confirm-dialog.tsx';
import { GraphCanvas } from '../_components/graph-canvas.tsx';
import { CommandBusyError, CommandStack, type Command } from '../lib/graph/commands.ts';
import { connectionFor } from '../lib/graph/connect.ts';
import type { FarmNodeKind, Position } from '../lib/graph/elements.ts';
import { farmElements, findInFarm, type FarmSelection } from '../lib/graph/farm-graph.ts';
import { nextInterfaceName, nextName, suggestCidr } from '../lib/graph/names.ts';
import { errorInfo, isStaleRevision, useTRPC, useTRPCClient } from '../lib/trpc.ts';
import { useAuthRedirect } from '../lib/use-auth-redirect.ts';
import { useLeaveGuard } from '../lib/use-leave-guard.ts';
import { attachCanvasTools, modelPoint, viewCenter } from './canvas-tools.ts';
import { describeDelete, designerKey, isTyping, nodeKindOf, outline, takenNames } from './designer-helpers.ts';
import { addNodeCommand, connectCommand, deleteCommand, editCommand, type Edit } from './farm-commands.ts';
import { makeFarmOps, type RevisionRef } from './farm-ops.ts';
import { attachLegCommand, makeLegOps } from './leg-ops.ts';
import { makeSecurityOps } from './security-ops.ts';
import { SecurityGroupsPanel } from './security-groups.tsx';
import { Palette } from './palette.tsx';
import { Properties, type ActionError } from './properties.tsx';
import { useLayoutSaver } from './use-layout-saver.ts';
import { TracePanel } from './trace-panel.tsx';

export function Designer({ farmId }: { farmId: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const qc = useQueryClient();
  const farmKey = trpc.farm.get.queryKey({ id: farmId });
  // farm.changes tells at once when anyone changes or deploys the farm; a slow
  // poll stays as a fallback while the stream reconnects. Focus refetches would only add noise.
  const farmQ = useQuery({ ...trpc.farm.get.queryOptions({ id: farmId }), refetchOnWindowFocus: false, refetchInterval: 60_000 });
  const layoutQ = useQuery({ ...trpc.farm.getLayout.queryOptions({ farmId }), refetchOnWindowFocus: false, staleTime: Infinity });
  const hostsQ = useQuery(trpc.host.list.queryOptions({ limit: 200 }));
  const me = useQuery(trpc.auth.me.queryOptions());
  useAuthRedirect(farmQ.error, layoutQ.error);
  const farm = farmQ.data;

  const rev = useRef<RevisionRef>({ current: 0 });
  const ops = useMemo(() => makeFarmOps(client, farmId, rev.current), [client, farmId]);
  const legOps = useMemo(() => makeLegOps(client, rev.current), [client]);
  const sgOps = useMemo(() => makeSecurityOps(client, farmId, rev.current), [client, farmId]);
  const [stack] = useState(() => new CommandStack());
  const subscribe = useCallback((l: () => void) => stack.subscribe(l), [stack]);
  const history = useSyncExternalStore(subscribe, () => stack.snapshot(), () => stack.snapshot());

  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [error, setError] = useState<ActionError | null>(null);
  const [conflict, setConflict] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const [pendingDelete, setPendingDelete] = useState<FarmSelection | null>(null);
  const [dirtyForms, setDirtyForms] = useState<ReadonlySet<string>>(new Set());
  const cyRef = useRef<Core | null>(null);
  const positions = useRef<Record<string, Position>>({});
  const farmRef = useRef(farm);
  farmRef.current = farm;

  // Saved positions seed the drawing once; afterwards the canvas is the truth.
  const [layoutReady, setLayoutReady] = useState(false);
  useEffect(() => {
    if (layoutQ.data && !layoutReady) {
      positions.current = { ...layoutQ.data.positions };
      setLayoutReady(true);
    }
  }, [layoutQ.data, layoutReady]);

  // The first read sets the revision we edit from; a later read that is ahead
  // of it (and not our own write in flight) means someone else changed the farm.
  useEffect(() => {
    if (!farm) return;
    if (rev.current.current === 0) rev.current.current = farm.revision;
    else if (farm.revision > rev.current.current && !stack.snapshot().busy) {
      setConflict(`Someone else changed this farm meanwhile: it is now at revision ${farm.revision}, and you were editing revision ${rev.current.current}.`);
    }
  }, [farm, stack]);

  useSubscription(trpc.farm.changes.subscriptionOptions({ farmId }, {
    onData: (c) => {
      if (c.deleted) setConflict('Someone else deleted this farm meanwhile.');
      else if (c.revision !== farmRef.current?.revision || c.deployedRevision !== farmRef.current?.deployedRevision) void farmQ.refetch();
    },
  }));

  const readOnly = conflict !== null || me.data?.role === 'viewer';
  const readOnlyRef = useRef(readOnly);
  readOnlyRef.current = readOnly;

  const collect = useCallback(() => {
    const f = farmRef.current;
    const out: Record<string, Position> = {};
    if (!f) return out;
    for (const n of [...f.vnets, ...f.vms, ...f.routers, ...f.firewalls]) {
      const el = cyRef.current?.getElementById(n.id);
      const p = el && el.nonempty() ? el.position() : positions.current[n.id];
      if (p) out[n.id] = { x: Math.round(p.x), y: Math.round(p.y) };
    }
    return out;
  }, []);
  const layout = useLayoutSaver(client, farmId, collect);
  const place = useCallback((id: string, p: Position) => {
    positions.current[id] = p;
    layout.schedule();
  }, [layout]);
  const positionOf = useCallback((id: string) => {
    const el = cyRef.current?.getElementById(id);
    return el && el.nonempty() ? { ...el.position() } : positions.current[id];
  }, []);

  const onDirty = useCallback((source: string, dirty: boolean) => {
    setDirtyForms((s) => {
      if (s.has(source) === dirty) return s;
      const next = new Set(s);
      if (dirty) next.add(source);
      else next.delete(source);
      return next;
    });
  }, []);
  useLeaveGuard(dirtyForms.size > 0 || history.busy, layout.pending);

  /** Runs one stack action; errors land at the field (edits) or in the status line. */
  const perform = useCallback(async (action: () => Promise<unknown>, targetId: string | null, done?: string): Promise<boolean> => {
    if (readOnlyRef.current) return false;
    try {
      await action();
      setError(null);
      if (done) setNotice(done);
      return true;
    } catch (e) {
      if (e instanceof CommandBusyError) setNotice('Still applying the previous change…');
      else if (isStaleRevision(e)) setConflict(`Someone else changed this farm meanwhile, so your change was not applied. ${errorInfo(e).message}`);
      else setError({ ...errorInfo(e), targetId });
      return false;
    } finally {
      await qc.invalidateQueries({ queryKey: farmKey });
    }
  }, [qc, farmKey]);
  const run = useCallback((cmd: Command, targetId: string | null = null) => perform(() => stack.run(cmd), targetId, `Done: ${cmd.label}.`), [perform, stack]);
  const undo = useCallback(() => perform(() => stack.undo(), null, `Undone: ${stack.snapshot().undoLabel}.`), [perform, stack]);
  const redo = useCallback(() => perform(() => stack.redo(), null, `Redone: ${stack.snapshot().redoLabel}.`), [perform, stack]);

  const addNode = useCallback((kind: FarmNodeKind, at: { clientX: number; clientY: number } | null) => {
    const cy = cyRef.current;
    const f = farmRef.current;
    if (!cy || !f) return;
    const container = cy.container();
    const center = viewCenter(cy);
    const nudge = (cy.nodes().length % 6) * 24; // pressed buttons stack their nodes diagonally, not on top of each other
    const pos = at && container ? modelPoint(cy, container, at.clientX, at.clientY) : { x: center.x + nudge, y: center.y + nudge };
    const name = nextName(kind, takenNames(f));
    const cidr = kind === 'vnet' ? (suggestCidr(f.vnets.map((v) => v.cidr)) ?? '10.1.0.0/24') : undefined;
    void run(addNodeCommand(ops, { kind, name, cidr }, pos, place, setSelectedId));
  }, [ops, place, run]);

  const connect = useCallback((from: string, to: string) => {
    const f = farmRef.current;
    if (!f) return;
    // A router or firewall drawn to an external network's node gets a leg on that network.
    const [ext, other] = from.startsWith('ext:') ? [from, to] : [to, from];
    if (ext.startsWith('ext:')) {
      const kind = nodeKindOf(f, other);
      if (kind === 'router' || kind === 'firewall') {
        void run(attachLegCommand(legOps, { [`${kind}Id`]: other, externalNetworkId: ext.slice(4) }, `connect ${kind} to external network`), other);
      } else setError({ field: null, message: 'Only a router or a firewall connects to an external network.', targetId: null });
      return;
    }
    const a = nodeKindOf(f, from);
    const b = nodeKindOf(f, to);
    if (!a || !b) return;
    const r = connectionFor({ id: from, kind: a }, { id: to, kind: b });
    if (!r.ok) {
      setError({ field: null, message: r.reason, targetId: null });
      return;
    }
    const c = r.connection;
    const fw = c.op === 'firewallInterface' ? f.firewalls.find((x) => x.id === c.firewallId) : undefined;
    void run(connectCommand(ops, c, nextInterfaceName(fw?.interfaces.map((i) => i.name) ?? []), setSelectedId));
  }, [ops, legOps, run]);

  const edit = useCallback((e: Edit, label: string) => {
    if (Object.keys(e.after).length === 0 && e.kind !== 'rules') return Promise.resolve(true);
    return run(editCommand(ops, e, label), e.id);
  }, [ops, run]);

  const selection = farm && selectedId ? findInFarm(farm, selectedId) : null;
  const requestDelete = useCallback(() => {
    const f = farmRef.current;
    const sel = f && selectedId ? findInFarm(f, selectedId) : null;
    if (sel && !readOnlyRef.current) setPendingDelete(sel);
  }, [selectedId]);
  const confirmDelete = async () => {
    const sel = pendingDelete;
    if (!sel || !farm) return;
    setPendingDelete(null);
    if (await run(deleteCommand(ops, farm, sel, place, positionOf, legOps), sel.item.id)) setSelectedId(null);
  };

  // Keyboard: Delete, Ctrl+Z / Ctrl+Y (Ctrl+Shift+Z), Escape — unless typing in a field.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = designerKey(e, isTyping(document.activeElement));
      if (!action) return;
      e.preventDefault();
      if (action === 'undo') void undo();
      else if (action === 'redo') void redo();
      else if (action === 'delete') requestDelete();
      else setSelectedId(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [undo, redo, requestDelete]);

  const elements = useMemo(() => (farm && layoutReady ? farmElements(farm, { positions: positions.current }) : []), [farm, layoutReady]);
  // A farm with nodes opens fitted to the view; an empty one keeps the plain view, so nodes land where they are dropped.
  const fitMode = useRef<'once' | false | null>(null);
  if (fitMode.current === null && farm && layoutReady) fitMode.current = elements.length > 0 ? 'once' : false;

  // Keep the canvas selection in step with selections made elsewhere (lists, keyboard).
  // biome-ignore lint/correctness/useExhaustiveDependencies: new elements replace the canvas's nodes, whose selection is then set again
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.batch(() => {
      cy.$(':selected').unselect();
      if (selectedId) cy.getElementById(selectedId).select();
    });
  }, [selectedId, elements]);

  const handlersRef = useRef({ connect, place });
  handlersRef.current = { connect, place };
  const onReady = useCallback((cy: Core) => {
    cyRef.current = cy;
    const detach = attachCanvasTools(cy, cy.container()!, {
      onSelect: setSelectedId,
      onConnect: (a, b) => handlersRef.current.connect(a, b),
      onMoved: (id, p) => handlersRef.current.place(id, p),
      canEdit: () => !readOnlyRef.current,
    });
    return () => {
      detach();
      cyRef.current = null;
    };
  }, []);

  const reload = async () => {
    stack.clear();
    const fresh = await qc.fetchQuery({ ...trpc.farm.get.queryOptions({ id: farmId }), staleTime: 0 });
    rev.current.current = fresh.revision;
    setConflict(null);
    setError(null);
    setNotice(`Reloaded revision ${fresh.revision}.`);
  };

  if (farmQ.error && errorInfo(farmQ.error).code !== 'UNAUTHORIZED') return <p role="alert" className="error">{errorInfo(farmQ.error).message}</p>;
  if (!farm || !layoutReady) return <p>Loading the farm…</p>;
  const del = pendingDelete ? describeDelete(farm, pendingDelete) : null;
  const statusError = error && (error.targetId === null || error.targetId !== selectedId) ? error.message : null;
  return (
    <div className="designer">
      <div className="designer-toolbar" role="toolbar" aria-label="Designer">
        <button type="button" onClick={() => void undo()} disabled={readOnly || !history.canUndo || history.busy} title={history.undoLabel ? `Undo ${history.undoLabel} (Ctrl+Z)` : 'Nothing to undo'}>Undo</button>
        <button type="button" onClick={() => void redo()} disabled={readOnly || !history.canRedo || history.busy} title={history.redoLabel ? `Redo ${history.redoLabel} (Ctrl+Y)` : 'Nothing to redo'}>Redo</button>
        <label className="inline-label">
          Select
          <select value={selectedId ?? ''} onChange={(e) => setSelectedId(e.target.value || null)}>
            <option value="">nothing</option>
            {outline(farm).map((o) => <option key={o.id} value={o.id}>{o.label}</option>)}
          </select>
        </label>
        <span className="rev" data-testid="farm-revision">revision {rev.current.current || farm.revision}</span>
        <span className="save-state" role="status" aria-live="polite">
          {history.busy ? 'Saving…' : layout.pending ? 'Saving layout…' : layout.error ? `Layout not saved: ${layout.error}` : notice}
        </span>
      </div>
      {statusError ? <p role="alert" className="error status-error">{statusError}</p> : null}
      {conflict ? (
        <div role="alert" className="banner conflict">
          <p><strong>This farm changed.</strong> {conflict} Reload to see the current farm and continue editing.</p>
          <button type="button" onClick={() => void reload()}>Reload farm</button>
        </div>
      ) : null}
      <div className="designer-body">
        <Palette disabled={readOnly} onAdd={addNode} />
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex lint/a11y/useAriaPropsSupportedByRole: the drawing takes keyboard focus for Delete and Ctrl+Z/Y; the label tells how to use it */}
        <div className="canvas-wrap" data-drop-target="designer" tabIndex={0} aria-label="Farm drawing; use the Select list, Delete and Ctrl+Z/Y">
          <GraphCanvas elements={elements} label={`Drawing of farm ${farm.name}`} onReady={onReady} fit={fitMode.current ?? false} testId="designer-canvas" />
        </div>
        <aside className="props-panel" aria-label="Properties">
          <Properties farm={farm} selection={selection} hosts={hostsQ.data?.items ?? []} readOnly={readOnly} error={error} ops={ops} legOps={legOps} sgOps={sgOps}
            onEdit={edit} onRun={(c) => run(c, selectedId)} onDelete={requestDelete} onConnect={connect} onSelect={setSelectedId} onDirty={onDirty} />
          {selection ? null : <SecurityGroupsPanel farm={farm} ops={sgOps} readOnly={readOnly} error={error} onRun={run} />}
        </aside>
      </div>
      {farm.deployedRevision !== null ? <TracePanel farm={farm} cyRef={cyRef} /> : null}
      <ConfirmDialog open={pendingDelete !== null} title={del?.title ?? ''} confirmLabel="Delete" danger onConfirm={() => void confirmDelete()} onCancel={() => setPendingDelete(null)}>
        <p>{del?.detail}</p>
        <p className="hint">You can undo this with Ctrl+Z.</p>
      </ConfirmDialog>
    </div>
  );
}
