// Applies an element diff to a live cytoscape instance in one batch, so the
// renderer redraws once and untouched elements (and the user's viewport,
// selection and drag positions) stay as they are.
import type { Core } from 'cytoscape';
import { isEmptyDiff, type ElementDiff } from './diff.ts';

export function applyDiff(cy: Core, d: ElementDiff): void {
  if (isEmptyDiff(d)) return;
  cy.batch(() => {
    // Parents first (the diff orders them), so children can be added inside.
    if (d.addNodes.length) cy.add(d.addNodes.map((n) => ({ group: 'nodes' as const, data: { ...n.data }, position: n.position ? { ...n.position } : undefined, classes: n.classes })));
    // Re-parent before removing, so a node leaving a vanishing compound survives it.
    for (const r of d.reparent) {
      const n = cy.getElementById(r.id);
      if (n.nonempty() && n.isNode()) n.move({ parent: r.parent });
    }
    for (const id of d.removeEdges) {
      const e = cy.getElementById(id);
      if (e.nonempty()) e.remove();
    }
    for (const id of d.removeNodes) {
      const n = cy.getElementById(id);
      if (n.nonempty()) n.remove();
    }
    if (d.addEdges.length) cy.add(d.addEdges.map((e) => ({ group: 'edges' as const, data: { ...e.data }, classes: e.classes })));
    for (const c of d.data) {
      const el = cy.getElementById(c.id);
      if (el.empty()) continue;
      if (Object.keys(c.set).length) el.data(c.set);
      if (c.unset.length) el.removeData(c.unset.join(' '));
    }
    for (const c of d.classes) cy.getElementById(c.id).classes(c.classes);
    for (const p of d.positions) {
      const n = cy.getElementById(p.id);
      // A node the user is dragging keeps following the pointer.
      if (n.nonempty() && !n.grabbed()) n.position({ ...p.position });
    }
  });
}
