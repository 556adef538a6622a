// What drawing an edge between two farm nodes means. The user may start at
// either end; the result names the API operation that creates the edge.
import type { FarmNodeKind } from './elements.ts';

export interface GraphNodeRef {
  id: string;
  kind: FarmNodeKind;
}

export type Connection =
  | { op: 'vif'; vmId: string; vnetId: string }
  | { op: 'routerInterface'; routerId: string; vnetId: string }
  | { op: 'firewallInterface'; firewallId: string; vnetId: string }
  | { op: 'routerLink'; routerAId: string; routerBId: string };

export type ConnectResult = { ok: true; connection: Connection } | { ok: false; reason: string };

const REASON = 'Draw an edge from a VM, router or firewall to a vnet (or between two routers).';

export function connectionFor(a: GraphNodeRef, b: GraphNodeRef): ConnectResult {
  if (a.id === b.id) return { ok: false, reason: 'An edge needs two different nodes.' };
  if (a.kind === 'router' && b.kind === 'router') {
    return { ok: true, connection: { op: 'routerLink', routerAId: a.id, routerBId: b.id } };
  }
  // Normalise so that `end` is the vnet and `from` the VM, router or firewall.
  const [from, vnet] = a.kind === 'vnet' ? [b, a] : [a, b];
  if (vnet.kind !== 'vnet' || from.kind === 'vnet') return { ok: false, reason: REASON };
  switch (from.kind) {
    case 'vm':
      return { ok: true, connection: { op: 'vif', vmId: from.id, vnetId: vnet.id } };
    case 'router':
      return { ok: true, connection: { op: 'routerInterface', routerId: from.id, vnetId: vnet.id } };
    case 'firewall':
      return { ok: true, connection: { op: 'firewallInterface', firewallId: from.id, vnetId: vnet.id } };
  }
}
