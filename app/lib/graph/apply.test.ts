import cytoscape from 'cytoscape';
import { describe, expect, it } from 'vitest';
import { applyDiff } from './apply.ts';
import { diffElements } from './diff.ts';
import type { El } from './elements.ts';
import { farmElements } from './farm-graph.ts';
import { sampleFarm, VM_1, VNET_A } from './fixtures.ts';

function snapshot(cy: cytoscape.Core) {
  return cy
    .elements()
    .map((e) => ({ id: e.id(), data: e.data() as Record<string, unknown>, parent: e.isNode() ? (e.parent().first().id() ?? null) : null, classes: e.classes().join(' ') }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

describe('applyDiff', () => {
  it('turns a graph showing one element list into the next, keeping untouched elements', () => {
    const farm = sampleFarm();
    const prev = farmElements(farm);
    const cy = cytoscape({ headless: true, styleEnabled: false, elements: prev.map((e) => structuredClone(e)) });
    const untouched = cy.getElementById(VNET_A);
    const next = farmElements({
      ...farm,
      vms: [{ ...farm.vms[0]!, name: 'web2', vifs: [] }],
      routers: [],
    });
    applyDiff(cy, diffElements(prev, next));
    const fresh = cytoscape({ headless: true, styleEnabled: false, elements: next.map((e) => structuredClone(e)) });
    expect(snapshot(cy)).toEqual(snapshot(fresh));
    expect(cy.getElementById(VNET_A)).toBe(untouched);
    expect(cy.getElementById(VM_1).data('label')).toBe('web2');
  });

  it('moves a child out of a compound that disappears in the same diff', () => {
    const prev: El[] = [
      { group: 'nodes', data: { id: 'h1' } },
      { group: 'nodes', data: { id: 'vm', parent: 'h1' }, position: { x: 1, y: 1 } },
    ];
    const next: El[] = [
      { group: 'nodes', data: { id: 'h2' } },
      { group: 'nodes', data: { id: 'vm', parent: 'h2' }, position: { x: 1, y: 1 } },
    ];
    const cy = cytoscape({ headless: true, styleEnabled: false, elements: structuredClone(prev) });
    const vm = cy.getElementById('vm');
    applyDiff(cy, diffElements(prev, next));
    expect(cy.getElementById('h1').empty()).toBe(true);
    expect(cy.getElementById('vm').parent().first().id()).toBe('h2');
    expect(cy.getElementById('vm').same(vm)).toBe(true);
  });

  it('does nothing (and does not batch) for an empty diff', () => {
    const cy = cytoscape({ headless: true, styleEnabled: false });
    let batches = 0;
    const orig = cy.batch.bind(cy);
    cy.batch = ((fn: () => void) => {
      batches++;
      return orig(fn);
    }) as typeof cy.batch;
    applyDiff(cy, diffElements([], []));
    expect(batches).toBe(0);
  });
});
