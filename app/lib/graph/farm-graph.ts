// A farm as a graph: vnets, VMs, routers and firewalls as nodes; VIFs,
// router and firewall interfaces and inter-router links as edges. Used by
// the designer and by the virtual live view (with VM states as classes).
import type { EdgeEl, El, FarmDetail, FarmNodeKind, NodeEl, Position } from './elements.ts';
import type { VmState } from './live.ts';

/** Where nodes without a saved position go: one row per kind, left to right. */
const ROW_Y: Record<FarmNodeKind, number> = { vm: 0, vnet: 220, router: 440, firewall: 440 };
const COLUMN_GAP = 170;

export function defaultPosition(kind: FarmNodeKind, index: number): Position {
  // Routers take even columns and firewalls odd ones so their shared row never overlaps.
  const column = kind === 'router' ? index * 2 : kind === 'firewall' ? index * 2 + 1 : index;
  return { x: column * COLUMN_GAP, y: ROW_Y[kind] };
}

export interface FarmGraphOptions {
  positions?: Record<string, Position>;
  /** VM id → state, for the live view (colours). */
  vmStates?: ReadonlyMap<string, VmState>;
}

export function farmElements(farm: FarmDetail, opts: FarmGraphOptions = {}): El[] {
  const positions = opts.positions ?? {};
  const nodes: NodeEl[] = [];
  const edges: EdgeEl[] = [];
  const place = (kind: FarmNodeKind, id: string, i: number) => positions[id] ?? defaultPosition(kind, i);

  farm.vnets.forEach((v, i) =>
    nodes.push({
      group: 'nodes',
      data: { id: v.id, kind: 'vnet', name: v.name, label: `${v.name}\n${v.cidr}`, vnid: v.vnid },
      position: place('vnet', v.id, i),
      classes: 'vnet',
    }),
  );
  farm.vms.forEach((vm, i) => {
    const state = opts.vmStates?.get(vm.id);
    nodes.push({
      group: 'nodes',
      data: { id: vm.id, kind: 'vm', name: vm.name, label: vm.name, host: vm.hostName, state: state ?? null },
      position: place('vm', vm.id, i),
      classes: state ? `vm ${state}` : 'vm',
    });
    for (const vif of vm.vifs) {
      edges.push({
        group: 'edges',
        data: { id: vif.id, kind: 'vif', source: vm.id, target: vif.vnetId, label: vif.ip, name: vif.name, mac: vif.mac },
        classes: 'vif',
      });
    }
  });
  farm.routers.forEach((r, i) => {
    nodes.push({
      group: 'nodes',
      data: { id: r.id, kind: 'router', name: r.name, label: r.name, host: r.hostName },
      position: place('router', r.id, i),
      classes: 'router',
    });
    for (const itf of r.interfaces) {
      edges.push({
        group: 'edges',
        data: { id: itf.id, kind: 'routerInterface', source: r.id, target: itf.vnetId, label: `${itf.ip}/${itf.prefixLen}`, mac: itf.mac },
        classes: 'interface',
      });
    }
  });
  for (const l of farm.routerLinks) {
    edges.push({
      group: 'edges',
      data: { id: l.id, kind: 'routerLink', source: l.routerAId, target: l.routerBId, label: l.cidr },
      classes: 'link',
    });
  }
  farm.firewalls.forEach((f, i) => {
    nodes.push({
      group: 'nodes',
      data: { id: f.id, kind: 'firewall', name: f.name, label: f.name, host: f.hostName },
      position: place('firewall', f.id, i),
      classes: 'firewall',
    });
    for (const itf of f.interfaces) {
      edges.push({
        group: 'edges',
        data: { id: itf.id, kind: 'firewallInterface', source: f.id, target: itf.vnetId, label: `${itf.name} ${itf.ip}`, mac: itf.mac },
        classes: 'interface',
      });
    }
  });
  // External networks a router or firewall has a leg on: one node per network (not the farm's: shared,
  // drawn below the routers), one edge per leg.
  const networks = new Map<string, string>();
  for (const leg of farm.externalLegs) {
    const id = externalNodeId(leg.externalNetworkId);
    if (!networks.has(id)) {
      networks.set(id, leg.networkName);
      nodes.push({
        group: 'nodes',
        data: { id, kind: 'externalNetwork', name: leg.networkName, label: `${leg.networkName}\n(external)` },
        // Unplaced: below the first node with a leg on it.
        position: positions[id] ?? below(nodes.find((n) => n.data.id === (leg.routerId ?? leg.firewallId))?.position),
        classes: 'external',
      });
    }
    const nat = leg.floatingIps.length + leg.portForwards.length;
    edges.push({
      group: 'edges',
      data: {
        id: leg.id, kind: 'externalLeg', source: leg.routerId ?? leg.firewallId!, target: id,
        label: nat ? `${leg.ip} · ${nat} NAT` : leg.ip, mac: leg.mac,
      },
      classes: 'external-leg',
    });
  }
  return [...nodes, ...edges];
}

/** Where an external network's node goes when it has no saved position. */
const below = (p: Position | undefined): Position => (p ? { x: p.x, y: p.y + 200 } : { x: 0, y: 660 });

/** The node of an external network in a farm drawing (networks are the deployment's, not the farm's). */
export const externalNodeId = (networkId: string) => `ext:${networkId}`;

/** Which farm object an element id names, and what kind it is. */
export type FarmSelection =
  | { kind: 'vnet'; item: FarmDetail['vnets'][number] }
  | { kind: 'vm'; item: FarmDetail['vms'][number] }
  | { kind: 'router'; item: FarmDetail['routers'][number] }
  | { kind: 'firewall'; item: FarmDetail['firewalls'][number] }
  | { kind: 'vif'; item: FarmDetail['vms'][number]['vifs'][number]; vm: FarmDetail['vms'][number] }
  | { kind: 'routerInterface'; item: FarmDetail['routers'][number]['interfaces'][number]; router: FarmDetail['routers'][number] }
  | { kind: 'firewallInterface'; item: FarmDetail['firewalls'][number]['interfaces'][number]; firewall: FarmDetail['firewalls'][number] }
  | { kind: 'routerLink'; item: FarmDetail['routerLinks'][number] }
  | { kind: 'externalLeg'; item: FarmDetail['externalLegs'][number] };

export function findInFarm(farm: FarmDetail, id: string): FarmSelection | null {
  for (const item of farm.vnets) if (item.id === id) return { kind: 'vnet', item };
  for (const vm of farm.vms) {
    if (vm.id === id) return { kind: 'vm', item: vm };
    for (const item of vm.vifs) if (item.id === id) return { kind: 'vif', item, vm };
  }
  for (const router of farm.routers) {
    if (router.id === id) return { kind: 'router', item: router };
    for (const item of router.interfaces) if (item.id === id) return { kind: 'routerInterface', item, router };
  }
  for (const item of farm.routerLinks) if (item.id === id) return { kind: 'routerLink', item };
  for (const item of farm.externalLegs) if (item.id === id) return { kind: 'externalLeg', item };
  for (const firewall of farm.firewalls) {
    if (firewall.id === id) return { kind: 'firewall', item: firewall };
    for (const item of firewall.interfaces) if (item.id === id) return { kind: 'firewallInterface', item, firewall };
  }
  return null;
}
