// Mouse interactions on the designer canvas, attached to the cytoscape
// instance once: selecting, drawing an edge with Shift held (Shift + drag
// from one node to another), and reporting moved nodes. Also a read-only
// test hook with the on-screen position of every element.
import type { Core, EventObject, NodeSingular } from 'cytoscape';
import type { Position } from '../lib/graph/elements.ts';

export interface CanvasHandlers {
  onSelect(id: string | null): void;
  onConnect(sourceId: string, targetId: string): void;
  onMoved(id: string, position: Position): void;
  /** Whether edits are allowed right now (edge drawing is an edit). */
  canEdit(): boolean;
}

const GHOST_NODE = '__ghost-node';
const GHOST_EDGE = '__ghost-edge';

/** Where the designer's elements are on the page, for tests that click on them with a real mouse. */
export interface DesignerTestHook {
  nodes(): { id: string; kind: string; name: string; x: number; y: number }[];
  edges(): { id: string; kind: string; source: string; target: string; label: string; x: number; y: number }[];
  zoom(): number;
  /** Names of the nodes carrying a class (e.g. the packet trace's `trace-path`, `trace-fail`). */
  classed(cls: string): string[];
}

declare global {
  interface Window {
    __softudcDesigner?: DesignerTestHook;
  }
}

export function attachCanvasTools(cy: Core, container: HTMLElement, h: CanvasHandlers): () => void {
  let source: NodeSingular | null = null;

  const clearGhost = () => {
    cy.getElementById(GHOST_EDGE).remove();
    cy.getElementById(GHOST_NODE).remove();
    source?.removeClass('connect-source');
    source = null;
  };

  // Runs before cytoscape's own mousedown (capture phase on an ancestor), so
  // the node under a Shift-press is not grabbed and the drag draws an edge.
  const onMouseDownCapture = (e: MouseEvent) => {
    cy.autoungrabify(e.shiftKey && h.canEdit());
  };
  const onMouseUp = () => {
    if (cy.autoungrabify()) cy.autoungrabify(false);
  };
  container.addEventListener('mousedown', onMouseDownCapture, true);
  window.addEventListener('mouseup', onMouseUp);

  const onTapStart = (e: EventObject) => {
    const orig = e.originalEvent as MouseEvent | undefined;
    if (!orig?.shiftKey || !h.canEdit() || e.target === cy || !e.target.isNode()) return;
    source = e.target as NodeSingular;
    source.addClass('connect-source');
    cy.add([
      { group: 'nodes', data: { id: GHOST_NODE }, position: { ...e.position }, classes: 'ghost', selectable: false, grabbable: false },
      { group: 'edges', data: { id: GHOST_EDGE, source: source.id(), target: GHOST_NODE }, classes: 'ghost', selectable: false },
    ]);
  };
  const onTapDrag = (e: EventObject) => {
    if (source) cy.getElementById(GHOST_NODE).position({ ...e.position });
  };
  const onTapEnd = (e: EventObject) => {
    if (!source) return;
    const from = source.id();
    const target = e.target !== cy && e.target.isNode() ? (e.target.id() as string) : null;
    clearGhost();
    if (target && target !== from && target !== GHOST_NODE) h.onConnect(from, target);
  };
  const onTap = (e: EventObject) => {
    if (source) return;
    if (e.target === cy) h.onSelect(null);
    else if (e.target.id() !== GHOST_NODE && e.target.id() !== GHOST_EDGE) h.onSelect(e.target.id());
  };
  const onDragFree = (e: EventObject) => {
    const n = e.target as NodeSingular;
    if (n.id() !== GHOST_NODE) h.onMoved(n.id(), { ...n.position() });
  };

  cy.on('tapstart', onTapStart);
  cy.on('tapdrag', onTapDrag);
  cy.on('tapend', onTapEnd);
  cy.on('tap', onTap);
  cy.on('dragfree', 'node', onDragFree);

  const toPage = (p: Position) => {
    const r = container.getBoundingClientRect();
    return { x: Math.round(r.left + p.x), y: Math.round(r.top + p.y) };
  };
  const hook: DesignerTestHook = {
    nodes: () =>
      cy.nodes().map((n) => ({
        id: n.id(), kind: String(n.data('kind')), name: String(n.data('name')), ...toPage(n.renderedPosition()),
      })).filter((n) => n.id !== GHOST_NODE),
    edges: () =>
      cy.edges().map((e) => ({
        id: e.id(), kind: String(e.data('kind')), source: e.source().id(), target: e.target().id(), label: String(e.data('label') ?? ''),
        ...toPage(e.renderedMidpoint()),
      })).filter((e) => e.id !== GHOST_EDGE),
    zoom: () => cy.zoom(),
    classed: (cls) => cy.nodes(`.${cls}`).map((n) => String(n.data('name'))),
  };
  window.__softudcDesigner = hook;

  return () => {
    container.removeEventListener('mousedown', onMouseDownCapture, true);
    window.removeEventListener('mouseup', onMouseUp);
    cy.removeListener('tapstart', onTapStart);
    cy.removeListener('tapdrag', onTapDrag);
    cy.removeListener('tapend', onTapEnd);
    cy.removeListener('tap', onTap);
    cy.removeListener('dragfree', 'node', onDragFree);
    if (window.__softudcDesigner === hook) delete window.__softudcDesigner;
  };
}

/** Model coordinates of a client point over the canvas. */
export function modelPoint(cy: Core, container: HTMLElement, clientX: number, clientY: number): Position {
  const r = container.getBoundingClientRect();
  const pan = cy.pan();
  const zoom = cy.zoom();
  return { x: (clientX - r.left - pan.x) / zoom, y: (clientY - r.top - pan.y) / zoom };
}

/** The middle of what the canvas shows, in model coordinates. */
export function viewCenter(cy: Core): Position {
  const e = cy.extent();
  return { x: (e.x1 + e.x2) / 2, y: (e.y1 + e.y2) / 2 };
}
