// A synthetic deployment for measuring the topology view: vnets, VMs and
// routers in the same element shapes a real farm produces, with preset
// positions. Deterministic for a given seed.
import type { EdgeEl, El, NodeEl } from './elements.ts';

/** Small fast PRNG (mulberry32) so runs are repeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticOptions {
  nodes: number;
  edges: number;
  seed?: number;
}

/**
 * `nodes` nodes (one vnet per 10, one router per 20, the rest VMs) and exactly
 * `edges` edges: every VM gets a VIF on a vnet near it, routers get one
 * interface each, and further VIFs are added until the count is reached.
 */
export function syntheticTopology(o: SyntheticOptions): El[] {
  const rand = prng(o.seed ?? 1);
  const vnets = Math.max(1, Math.floor(o.nodes / 10));
  const routers = Math.floor(o.nodes / 20);
  const vms = Math.max(0, o.nodes - vnets - routers);
  const columns = Math.ceil(Math.sqrt(o.nodes));
  const nodes: NodeEl[] = [];
  const at = (i: number) => ({ x: (i % columns) * 80, y: Math.floor(i / columns) * 80 });
  let slot = 0;
  const vnetSlot: number[] = [];
  for (let i = 0; i < vnets; i++) {
    vnetSlot.push(slot);
    nodes.push({ group: 'nodes', data: { id: `vnet-${i}`, kind: 'vnet', label: `vnet-${i}` }, position: at(slot++), classes: 'vnet' });
  }
  // VMs and routers are spread among the vnets so edges stay short, as in a laid-out farm.
  for (let i = 0; i < vms; i++) {
    nodes.push({ group: 'nodes', data: { id: `vm-${i}`, kind: 'vm', label: `vm-${i}` }, position: at(slot++), classes: 'vm running' });
  }
  for (let i = 0; i < routers; i++) {
    nodes.push({ group: 'nodes', data: { id: `router-${i}`, kind: 'router', label: `router-${i}` }, position: at(slot++), classes: 'router' });
  }
  const edges: EdgeEl[] = [];
  const nearVnet = (i: number) => Math.min(vnets - 1, Math.floor((i / Math.max(1, vms)) * vnets));
  const add = (source: string, vnet: number, kind: string) => {
    if (edges.length >= o.edges) return;
    edges.push({ group: 'edges', data: { id: `e-${edges.length}`, source, target: `vnet-${vnet}`, kind, label: '' }, classes: kind });
  };
  for (let i = 0; i < vms; i++) add(`vm-${i}`, nearVnet(i), 'vif');
  for (let i = 0; i < routers; i++) add(`router-${i}`, Math.floor(rand() * vnets), 'interface');
  while (edges.length < o.edges && vms > 0) {
    const vm = Math.floor(rand() * vms);
    const vnet = Math.min(vnets - 1, Math.max(0, nearVnet(vm) + Math.floor(rand() * 3) - 1));
    add(`vm-${vm}`, vnet, 'vif');
  }
  return [...nodes, ...edges];
}
