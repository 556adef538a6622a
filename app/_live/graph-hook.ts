// A read-only window hook listing a live graph's nodes with their on-screen
// positions, so browser tests can aim real mouse events at them.
import type { Core } from 'cytoscape';

export interface GraphHookNode {
  id: string;
  kind: string;
  label: string;
  parent: string | null;
  data: Record<string, unknown>;
  x: number;
  y: number;
  /** On-screen box (compound nodes: the whole group). */
  box: { x1: number; y1: number; x2: number; y2: number };
}

export interface GraphHook {
  nodes(): GraphHookNode[];
}

declare global {
  interface Window {
    __softudcTopology?: GraphHook;
    __softudcVirtual?: GraphHook;
  }
}

export function exposeGraph(name: '__softudcTopology' | '__softudcVirtual', cy: Core): () => void {
  const hook: GraphHook = {
    nodes: () => {
      const r = cy.container()?.getBoundingClientRect();
      const ox = r?.left ?? 0;
      const oy = r?.top ?? 0;
      return cy.nodes().map((n) => {
        const p = n.renderedPosition();
        const b = n.renderedBoundingBox({});
        return {
          id: n.id(), kind: String(n.data('kind') ?? ''), label: String(n.data('label') ?? ''), parent: n.parent().first().id() ?? null,
          data: { ...n.data() }, x: Math.round(ox + p.x), y: Math.round(oy + p.y),
          box: { x1: ox + b.x1, y1: oy + b.y1, x2: ox + b.x2, y2: oy + b.y2 },
        };
      });
    },
  };
  window[name] = hook;
  return () => {
    if (window[name] === hook) delete window[name];
  };
}
