// Which elements of the farm's drawing a packet trace passes through, and
// which one failed: the VM of a VIF hop (and the VIF's edge), the vnet of a
// switch hop (by its vnet id), routers and firewalls by id; edges between two
// elements of the path (a router's or firewall's interface on a vnet of it).
import type { FarmDetail } from '../lib/graph/elements.ts';

export interface TraceHopLike {
  step: string;
  verdict: 'pass' | 'drop' | 'deliver' | 'unknown';
  node: { kind: string; id: string; name: string };
}

export interface TracePath {
  /** Node and edge ids of the drawing on the path, in order, without repeats. */
  path: string[];
  /** Ids of the failing hop's elements, or none. */
  failed: string[];
}

function elementsOf(farm: FarmDetail, hop: TraceHopLike): string[] {
  const n = hop.node;
  if (n.kind === 'vif') {
    const vm = farm.vms.find((v) => v.vifs.some((f) => f.id === n.id));
    return vm ? [vm.id, n.id] : [];
  }
  if (n.kind === 'vnet') {
    const v = farm.vnets.find((x) => String(x.vnid) === n.id);
    return v ? [v.id] : [];
  }
  if (n.kind === 'router' || n.kind === 'firewall') return [n.id];
  return [];
}

export function tracePath(farm: FarmDetail, hops: readonly TraceHopLike[]): TracePath {
  const path: string[] = [];
  let failed: string[] = [];
  for (const h of hops) {
    const ids = elementsOf(farm, h);
    for (const id of ids) if (!path.includes(id)) path.push(id);
    if (h.verdict === 'drop' || h.verdict === 'unknown') failed = ids;
  }
  const on = new Set(path);
  const edges = [
    ...farm.routers.flatMap((r) => r.interfaces.map((i) => ({ id: i.id, a: r.id, b: i.vnetId }))),
    ...farm.firewalls.flatMap((f) => f.interfaces.map((i) => ({ id: i.id, a: f.id, b: i.vnetId }))),
    ...farm.vms.flatMap((vm) => vm.vifs.map((f) => ({ id: f.id, a: vm.id, b: f.vnetId }))),
  ];
  for (const e of edges) if (on.has(e.a) && on.has(e.b) && !on.has(e.id)) path.push(e.id);
  return { path, failed };
}
