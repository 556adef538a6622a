// Element diffs: what changed between two element lists, so a view updates
// the live graph in place (add, remove, re-parent, data, classes, position)
// instead of rebuilding it. Pure; applied to cytoscape by apply.ts.
import { isNode, type DataValue, type EdgeEl, type El, type NodeEl, type Position } from './elements.ts';

export interface ElementDiff {
  /** Parents come before their children. */
  addNodes: NodeEl[];
  addEdges: EdgeEl[];
  removeEdges: string[];
  /** Children come before their parents. */
  removeNodes: string[];
  /** Existing nodes whose compound parent changed (null: to the top level). */
  reparent: { id: string; parent: string | null }[];
  /** Changed or new data keys, and keys that disappeared. */
  data: { id: string; set: Record<string, DataValue>; unset: string[] }[];
  classes: { id: string; classes: string }[];
  positions: { id: string; position: Position }[];
}

export interface DiffOptions {
  /**
   * `keep` (default): existing nodes stay where they are (the user may have
   * dragged them); `follow`: existing nodes move to the new position when it differs.
   */
  positions?: 'keep' | 'follow';
}

export function emptyDiff(): ElementDiff {
  return { addNodes: [], addEdges: [], removeEdges: [], removeNodes: [], reparent: [], data: [], classes: [], positions: [] };
}

export function isEmptyDiff(d: ElementDiff): boolean {
  return (
    d.addNodes.length + d.addEdges.length + d.removeEdges.length + d.removeNodes.length +
      d.reparent.length + d.data.length + d.classes.length + d.positions.length === 0
  );
}

const STRUCTURAL = new Set(['id', 'parent', 'source', 'target']);

/** Depth of each node in the compound hierarchy of `nodes` (0 = top level). */
function depths(nodes: Map<string, NodeEl>): Map<string, number> {
  const out = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = out.get(id);
    if (known !== undefined) return known;
    const parent = nodes.get(id)?.data.parent;
    // A missing or cyclic parent counts as top level rather than looping.
    const d = parent && nodes.has(parent) && !seen.has(parent) ? depthOf(parent, seen.add(id)) + 1 : 0;
    out.set(id, d);
    return d;
  };
  for (const id of nodes.keys()) depthOf(id, new Set());
  return out;
}

function dataChanges(prev: El['data'], next: El['data']): { set: Record<string, DataValue>; unset: string[] } | null {
  const set: Record<string, DataValue> = {};
  const unset: string[] = [];
  let changed = false;
  for (const [k, v] of Object.entries(next)) {
    if (STRUCTURAL.has(k) || v === undefined) continue;
    if (prev[k] !== v) {
      set[k] = v;
      changed = true;
    }
  }
  for (const [k, v] of Object.entries(prev)) {
    if (STRUCTURAL.has(k) || v === undefined) continue;
    if (next[k] === undefined) {
      unset.push(k);
      changed = true;
    }
  }
  return changed ? { set, unset } : null;
}

const samePosition = (a: Position | undefined, b: Position | undefined) =>
  a !== undefined && b !== undefined && a.x === b.x && a.y === b.y;

/** What to do to a graph showing `prev` so that it shows `next`. */
export function diffElements(prev: readonly El[], next: readonly El[], opts: DiffOptions = {}): ElementDiff {
  const d = emptyDiff();
  const prevById = new Map(prev.map((e) => [e.data.id, e]));
  const nextById = new Map(next.map((e) => [e.data.id, e]));

  const replaced = new Set<string>();
  for (const n of next) {
    const p = prevById.get(n.data.id);
    if (!p) continue;
    // A node that became an edge (or the reverse), or an edge whose ends moved,
    // cannot be updated in place: cytoscape edges have fixed ends.
    if (p.group !== n.group || (!isNode(n) && !isNode(p) && (p.data.source !== n.data.source || p.data.target !== n.data.target))) {
      replaced.add(n.data.id);
    }
  }

  const prevNodes = new Map<string, NodeEl>();
  for (const e of prev) if (isNode(e)) prevNodes.set(e.data.id, e);
  const nextNodes = new Map<string, NodeEl>();
  for (const e of next) if (isNode(e)) nextNodes.set(e.data.id, e);

  for (const p of prev) {
    const id = p.data.id;
    if (nextById.has(id) && !replaced.has(id)) continue;
    if (isNode(p)) d.removeNodes.push(id);
    else d.removeEdges.push(id);
  }
  const prevDepth = depths(prevNodes);
  d.removeNodes.sort((a, b) => (prevDepth.get(b) ?? 0) - (prevDepth.get(a) ?? 0));

  const nextDepth = depths(nextNodes);
  for (const n of next) {
    const id = n.data.id;
    const p = prevById.get(id);
    if (!p || replaced.has(id)) {
      if (isNode(n)) d.addNodes.push(n);
      else d.addEdges.push(n);
      continue;
    }
    const changes = dataChanges(p.data, n.data);
    if (changes) d.data.push({ id, ...changes });
    if ((p.classes ?? '') !== (n.classes ?? '')) d.classes.push({ id, classes: n.classes ?? '' });
    if (isNode(n) && isNode(p)) {
      if ((p.data.parent ?? null) !== (n.data.parent ?? null)) d.reparent.push({ id, parent: n.data.parent ?? null });
      if (opts.positions === 'follow' && n.position && !samePosition(p.position, n.position)) {
        d.positions.push({ id, position: n.position });
      }
    }
  }
  d.addNodes.sort((a, b) => (nextDepth.get(a.data.id) ?? 0) - (nextDepth.get(b.data.id) ?? 0));
  return d;
}
