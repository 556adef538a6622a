'use client';
// A synthetic deployment drawn by the same canvas component as the live
// topology, for `npm run bench:ui`. Needs no sign-in and reads no data: the
// graph is generated in the page (?nodes=2000&edges=3000&seed=1).
import type { Core } from 'cytoscape';
import { useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useMemo, useRef } from 'react';
import { GraphCanvas } from '../../_components/graph-canvas.tsx';
import { syntheticTopology } from '../../lib/graph/synthetic.ts';

export interface BenchHook {
  cy: Core;
  nodes: number;
  edges: number;
  /** ms from navigation start to the first frame showing the whole graph. */
  firstRenderMs: number | null;
  /** ms from handing the elements to the canvas to that frame. */
  renderAfterInjectMs: number | null;
}

declare global {
  interface Window {
    __softudcBench?: BenchHook;
  }
}

const int = (v: string | null, d: number) => (v && /^\d+$/.test(v) ? Number(v) : d);

function Bench() {
  const params = useSearchParams();
  const nodes = int(params.get('nodes'), 2000);
  const edges = int(params.get('edges'), 3000);
  const seed = int(params.get('seed'), 1);
  const injectedAt = useRef(0);
  const elements = useMemo(() => {
    const els = syntheticTopology({ nodes, edges, seed });
    injectedAt.current = performance.now();
    return els;
  }, [nodes, edges, seed]);
  const onReady = useCallback((cy: Core) => {
    const hook: BenchHook = { cy, nodes, edges, firstRenderMs: null, renderAfterInjectMs: null };
    const onRender = () => {
      if (cy.elements().length < nodes + edges) return;
      const now = performance.now();
      hook.firstRenderMs = now;
      hook.renderAfterInjectMs = now - injectedAt.current;
      cy.removeListener('render', onRender);
    };
    cy.on('render', onRender);
    window.__softudcBench = hook;
    return () => {
      cy.removeListener('render', onRender);
      delete window.__softudcBench;
    };
  }, [nodes, edges]);
  return (
    <section className="bench">
      <h1>Topology benchmark: {nodes} nodes, {edges} edges</h1>
      <div className="live-canvas">
        <GraphCanvas elements={elements} label={`Synthetic topology of ${nodes} nodes and ${edges} edges`} onReady={onReady} testId="bench-canvas" />
      </div>
    </section>
  );
}

export default function BenchTopologyPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <Bench />
    </Suspense>
  );
}
