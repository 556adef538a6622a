// Undoable designer actions built from farm operations. Each command records
// what it needs to reverse itself (the deleted object's fields, the values
// before an edit) and refers to objects by the id they had when it was made;
// ctx.id() maps that to the id they have now (see lib/graph/commands.ts).
// Deleting, with all it must copy to come back, is farm-delete.ts.
import type { Command, CommandContext } from '../lib/graph/commands.ts';
import type { Connection } from '../lib/graph/connect.ts';
import type { FarmNodeKind, Position } from '../lib/graph/elements.ts';
import type {
  FarmOps, FirewallPatch, RouterInterfacePatch, RouterPatch, RouterView, RuleInput, VifPatch, VmPatch, VnetPatch,
} from './farm-ops.ts';

export interface NodeSpec {
  kind: FarmNodeKind;
  name: string;
  /** Vnets only. */
  cidr?: string;
}

/** Called when a node (re)appears, so the canvas puts it where the user dropped it. */
export type Place = (id: string, position: Position) => void;

export { attachmentsOf, deleteCommand, rulesOf } from './farm-delete.ts';

export function addNodeCommand(ops: FarmOps, spec: NodeSpec, position: Position, place: Place, onCreated?: (id: string) => void): Command {
  let original: string | null = null;
  const create = async (): Promise<string> => {
    switch (spec.kind) {
      case 'vnet':
        return (await ops.createVnet({ name: spec.name, cidr: spec.cidr ?? '' })).id;
      case 'vm':
        return (await ops.createVm({ name: spec.name })).id;
      case 'router':
        return (await ops.createRouter({ name: spec.name })).id;
      case 'firewall':
        return (await ops.createFirewall({ name: spec.name })).id;
    }
  };
  return {
    label: `add ${spec.kind} ${spec.name}`,
    async do(ctx) {
      const id = await create();
      place(id, position);
      if (original === null) original = id;
      else ctx.remap(original, id);
      onCreated?.(id);
    },
    async undo(ctx) {
      await deleteNode(ops, spec.kind, ctx.id(original!));
    },
  };
}

function deleteNode(ops: FarmOps, kind: FarmNodeKind, id: string): Promise<void> {
  switch (kind) {
    case 'vnet':
      return ops.deleteVnet(id);
    case 'vm':
      return ops.deleteVm(id);
    case 'router':
      return ops.deleteRouter(id);
    case 'firewall':
      return ops.deleteFirewall(id);
  }
}

/** Creates the VIF, interface or link an edge drawn on the canvas stands for. */
export function connectCommand(ops: FarmOps, c: Connection, firewallInterfaceName: string, onCreated?: (id: string) => void): Command {
  let original: string | null = null;
  const create = async (ctx: CommandContext): Promise<string> => {
    switch (c.op) {
      case 'vif':
        return (await ops.createVif({ vmId: ctx.id(c.vmId), vnetId: ctx.id(c.vnetId) })).id;
      case 'routerInterface':
        return (await ops.addRouterInterface({ routerId: ctx.id(c.routerId), vnetId: ctx.id(c.vnetId) })).id;
      case 'firewallInterface':
        return (await ops.addFirewallInterface({ firewallId: ctx.id(c.firewallId), vnetId: ctx.id(c.vnetId), name: firewallInterfaceName })).id;
      case 'routerLink':
        return (await ops.link({ routerAId: ctx.id(c.routerAId), routerBId: ctx.id(c.routerBId) })).id;
    }
  };
  const remove = (id: string) => {
    switch (c.op) {
      case 'vif':
        return ops.deleteVif(id);
      case 'routerInterface':
        return ops.removeRouterInterface(id);
      case 'firewallInterface':
        return ops.removeFirewallInterface(id);
      case 'routerLink':
        return ops.unlink(id);
    }
  };
  return {
    label: c.op === 'routerLink' ? 'link routers' : `connect ${c.op === 'vif' ? 'VM' : c.op === 'routerInterface' ? 'router' : 'firewall'}`,
    async do(ctx) {
      const id = await create(ctx);
      if (original === null) original = id;
      else ctx.remap(original, id);
      onCreated?.(id);
    },
    async undo(ctx) {
      await remove(ctx.id(original!));
    },
  };
}

export type Edit =
  | { kind: 'vnet'; id: string; before: VnetPatch; after: VnetPatch }
  | { kind: 'vm'; id: string; before: VmPatch; after: VmPatch }
  | { kind: 'vif'; id: string; before: VifPatch; after: VifPatch }
  | { kind: 'router'; id: string; before: RouterPatch; after: RouterPatch }
  | { kind: 'routerInterface'; id: string; before: RouterInterfacePatch; after: RouterInterfacePatch }
  | { kind: 'firewall'; id: string; before: FirewallPatch; after: FirewallPatch }
  | { kind: 'rules'; id: string; before: RuleInput[]; after: RuleInput[] };

function applyEdit(ops: FarmOps, e: Edit, id: string, which: 'before' | 'after'): Promise<unknown> {
  switch (e.kind) {
    case 'vnet':
      return ops.updateVnet(id, e[which]);
    case 'vm':
      return ops.updateVm(id, e[which]);
    case 'vif':
      return ops.updateVif(id, e[which]);
    case 'router':
      return ops.updateRouter(id, e[which]);
    case 'routerInterface':
      return ops.updateRouterInterface(id, e[which]);
    case 'firewall':
      return ops.updateFirewall(id, e[which]);
    case 'rules':
      return ops.setRules(id, e[which]);
  }
}

export function editCommand(ops: FarmOps, e: Edit, label: string): Command {
  return {
    label,
    do: async (ctx) => void (await applyEdit(ops, e, ctx.id(e.id), 'after')),
    undo: async (ctx) => void (await applyEdit(ops, e, ctx.id(e.id), 'before')),
  };
}

/** Only the fields that differ, with their old values: an edit touches nothing else. */
export function changedFields<T extends Record<string, unknown>>(current: T, next: Partial<T>): { before: Partial<T>; after: Partial<T> } {
  const before: Partial<T> = {};
  const after: Partial<T> = {};
  for (const key of Object.keys(next) as (keyof T)[]) {
    const v = next[key];
    if (v === undefined || JSON.stringify(v) === JSON.stringify(current[key])) continue;
    before[key] = current[key];
    after[key] = v;
  }
  return { before, after };
}

export function addStaticRouteCommand(ops: FarmOps, routerId: string, route: { destination: string; nextHop: string; metric?: number }): Command {
  let original: string | null = null;
  return {
    label: `add route ${route.destination}`,
    async do(ctx) {
      const r = await ops.addStaticRoute({ routerId: ctx.id(routerId), ...route });
      if (original === null) original = r.id;
      else ctx.remap(original, r.id);
    },
    undo: (ctx) => ops.removeStaticRoute(ctx.id(original!)),
  };
}

export function removeStaticRouteCommand(ops: FarmOps, route: RouterView['staticRoutes'][number]): Command {
  return {
    label: `remove route ${route.destination}`,
    do: (ctx) => ops.removeStaticRoute(ctx.id(route.id)),
    async undo(ctx) {
      const r = await ops.addStaticRoute({ routerId: ctx.id(route.routerId), destination: route.destination, nextHop: route.nextHop, metric: route.metric });
      ctx.remap(route.id, r.id);
    },
  };
}
