import { describe, expect, it } from 'vitest';
import { diffElements, isEmptyDiff } from './diff.ts';
import type { El } from './elements.ts';

const node = (id: string, extra: Record<string, string | number | null> = {}, parent?: string, pos = { x: 0, y: 0 }): El => ({
  group: 'nodes', data: { id, ...(parent ? { parent } : {}), ...extra }, position: pos,
});
const edge = (id: string, source: string, target: string, extra: Record<string, string> = {}): El => ({
  group: 'edges', data: { id, source, target, ...extra },
});

describe('diffElements', () => {
  it('is empty for identical lists', () => {
    const els = [node('a', { label: 'A' }), node('b'), edge('e', 'a', 'b')];
    expect(isEmptyDiff(diffElements(els, structuredClone(els)))).toBe(true);
  });

  it('adds, removes and updates only what changed', () => {
    const prev = [node('a', { label: 'A', n: 1 }), node('b'), edge('e', 'a', 'b')];
    const next = [node('a', { label: 'A2' }), node('c'), edge('f', 'a', 'c')];
    const d = diffElements(prev, next);
    expect(d.addNodes.map((n) => n.data.id)).toEqual(['c']);
    expect(d.addEdges.map((n) => n.data.id)).toEqual(['f']);
    expect(d.removeNodes).toEqual(['b']);
    expect(d.removeEdges).toEqual(['e']);
    expect(d.data).toEqual([{ id: 'a', set: { label: 'A2' }, unset: ['n'] }]);
  });

  it('replaces an edge whose ends moved (cytoscape edges have fixed ends)', () => {
    const d = diffElements([node('a'), node('b'), node('c'), edge('e', 'a', 'b')], [node('a'), node('b'), node('c'), edge('e', 'a', 'c')]);
    expect(d.removeEdges).toEqual(['e']);
    expect(d.addEdges.map((e) => e.data.target)).toEqual(['c']);
  });

  it('orders added parents before children and removed children before parents', () => {
    const d1 = diffElements([], [node('vm', {}, 'host'), node('host', {}, 'seg'), node('seg')]);
    expect(d1.addNodes.map((n) => n.data.id)).toEqual(['seg', 'host', 'vm']);
    const d2 = diffElements([node('seg'), node('host', {}, 'seg'), node('vm', {}, 'host')], []);
    expect(d2.removeNodes).toEqual(['vm', 'host', 'seg']);
  });

  it('re-parents a node that moved to another compound', () => {
    const prev = [node('h1'), node('h2'), node('vm', {}, 'h1')];
    const next = [node('h1'), node('h2'), node('vm', {}, 'h2')];
    expect(diffElements(prev, next).reparent).toEqual([{ id: 'vm', parent: 'h2' }]);
  });

  it('keeps existing positions unless asked to follow', () => {
    const prev = [node('a', {}, undefined, { x: 0, y: 0 })];
    const next = [node('a', {}, undefined, { x: 50, y: 0 })];
    expect(diffElements(prev, next).positions).toEqual([]);
    expect(diffElements(prev, next, { positions: 'follow' }).positions).toEqual([{ id: 'a', position: { x: 50, y: 0 } }]);
  });

  it('reports class changes', () => {
    const d = diffElements([{ ...node('a'), classes: 'vm pending' }], [{ ...node('a'), classes: 'vm running' }]);
    expect(d.classes).toEqual([{ id: 'a', classes: 'vm running' }]);
  });
});
