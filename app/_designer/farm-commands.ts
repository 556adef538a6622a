// Undoable designer actions built from farm operations. Each command records
// what it needs to reverse itself (the deleted object's fields, the values
// before an edit) and refers to objects by the id they had when it was made;
// ctx.id() maps that to the id they have now (see lib/graph/commands.ts).
import type { Command, CommandContext } from '../lib/graph/commands.ts';
import type { Connection } from '../lib/graph/connect.ts';
import type { FarmDetail, FarmNodeKind, Position } from '../lib/graph/elements.ts';
import type { FarmSelection } from '../lib/graph/farm-graph.ts';
import type {
  FarmOps, FirewallPatch, FirewallView, RouterInterfacePatch, RouterPatch, RouterView, RuleInput, VifPatch, VmPatch, VmView, VnetPatch,
} from './farm-ops.ts';

export interface NodeSpec {
  kind: FarmNodeKind;
  name: string;
  /** Vnets only. */
  cidr?: string;
}

/** Called when a node (re)appears, so the canvas puts it where the user dropped it. */
export type Place = (id: string, position: Position) => void;

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

/** Every edge that ends on a vnet: deleting the vnet removes these first, and undo puts them back. */
export function attachmentsOf(farm: FarmDetail, vnetId: string) {
  return {
    vifs: farm.vms.flatMap((vm) => vm.vifs.filter((f) => f.vnetId === vnetId)),
    routerInterfaces: farm.routers.flatMap((r) => r.interfaces.filter((i) => i.vnetId === vnetId)),
    firewallInterfaces: farm.firewalls.flatMap((f) => f.interfaces.filter((i) => i.vnetId === vnetId)),
  };
}

const remapVifs = (ctx: CommandContext, before: VmView['vifs'], after: VmView['vifs']) => {
  for (const old of before) {
    const now = after.find((n) => n.mac === old.mac && n.vnetId === ctx.id(old.vnetId));
    if (now) ctx.remap(old.id, now.id);
  }
};
const remapRouter = (ctx: CommandContext, before: RouterView, after: RouterView) => {
  ctx.remap(before.id, after.id);
  for (const old of before.interfaces) {
    const now = after.interfaces.find((n) => n.vnetId === ctx.id(old.vnetId));
    if (now) ctx.remap(old.id, now.id);
  }
};
const remapFirewall = (ctx: CommandContext, before: FirewallView, after: FirewallView) => {
  ctx.remap(before.id, after.id);
  for (const old of before.interfaces) {
    const now = after.interfaces.find((n) => n.name === old.name);
    if (now) ctx.remap(old.id, now.id);
  }
};

export const rulesOf = (fw: FirewallView): RuleInput[] =>
  fw.rules.map((r) => ({
    action: r.action, protocol: r.protocol, source: r.source, destination: r.destination, portFrom: r.portFrom, portTo: r.portTo,
    interface: r.interface, log: r.log, description: r.description,
  }));

/**
 * Deletes the selected object. What it needs to come back is copied now:
 * a VM with its VIFs, a router with interfaces, routes and links, a firewall
 * with interfaces and rules, a vnet with everything attached to it.
 */
export function deleteCommand(ops: FarmOps, farm: FarmDetail, sel: FarmSelection, place: Place, positionOf: (id: string) => Position | undefined): Command {
  const pos = positionOf(sel.item.id);
  const placeAgain = (id: string) => pos && place(id, pos);
  switch (sel.kind) {
    case 'vm': {
      const vm = sel.item;
      return {
        label: `delete VM ${vm.name}`,
        do: (ctx) => ops.deleteVm(ctx.id(vm.id)),
        async undo(ctx) {
          const again = await ops.createVm({
            name: vm.name, hostId: vm.hostId, guestKind: vm.guestKind, bandwidthMbps: vm.bandwidthMbps, burstKb: vm.burstKb,
            vifs: vm.vifs.map((f) => ({ vnetId: ctx.id(f.vnetId), mac: f.mac, ip: f.ip })),
          });
          ctx.remap(vm.id, again.id);
          remapVifs(ctx, vm.vifs, again.vifs);
          placeAgain(again.id);
        },
      };
    }
    case 'router': {
      const r = sel.item;
      const links = farm.routerLinks.filter((l) => l.routerAId === r.id || l.routerBId === r.id);
      return {
        label: `delete router ${r.name}`,
        do: (ctx) => ops.deleteRouter(ctx.id(r.id)),
        async undo(ctx) {
          const again = await ops.createRouter({
            name: r.name, hostId: r.hostId,
            interfaces: r.interfaces.map((i) => ({ vnetId: ctx.id(i.vnetId), ip: i.ip, prefixLen: i.prefixLen, mac: i.mac, rip: i.rip })),
          });
          remapRouter(ctx, r, again);
          for (const s of r.staticRoutes) {
            await ops.addStaticRoute({ routerId: again.id, destination: s.destination, nextHop: s.nextHop, metric: s.metric });
          }
          for (const l of links) {
            const back = await ops.link({ routerAId: ctx.id(l.routerAId), routerBId: ctx.id(l.routerBId), cidr: l.cidr, ipA: l.ipA, ipB: l.ipB, rip: l.rip });
            ctx.remap(l.id, back.id);
          }
          placeAgain(again.id);
        },
      };
    }
    case 'firewall': {
      const f = sel.item;
      return {
        label: `delete firewall ${f.name}`,
        do: (ctx) => ops.deleteFirewall(ctx.id(f.id)),
        async undo(ctx) {
          const again = await ops.createFirewall({
            name: f.name, hostId: f.hostId, defaultPolicy: f.defaultPolicy,
            interfaces: f.interfaces.map((i) => ({ name: i.name, vnetId: ctx.id(i.vnetId), ip: i.ip, prefixLen: i.prefixLen, mac: i.mac })),
            rules: rulesOf(f),
          });
          remapFirewall(ctx, f, again);
          placeAgain(again.id);
        },
      };
    }
    case 'vnet': {
      const v = sel.item;
      const att = attachmentsOf(farm, v.id);
      return {
        label: `delete vnet ${v.name}`,
        async do(ctx) {
          for (const f of att.vifs) await ops.deleteVif(ctx.id(f.id));
          for (const i of att.routerInterfaces) await ops.removeRouterInterface(ctx.id(i.id));
          for (const i of att.firewallInterfaces) await ops.removeFirewallInterface(ctx.id(i.id));
          await ops.deleteVnet(ctx.id(v.id));
        },
        async undo(ctx) {
          const again = await ops.createVnet({ name: v.name, cidr: v.cidr, vnid: v.vnid, mtu: v.mtu, security: v.security });
          ctx.remap(v.id, again.id);
          placeAgain(again.id);
          for (const f of att.vifs) ctx.remap(f.id, (await ops.createVif({ vmId: ctx.id(f.vmId), vnetId: again.id, mac: f.mac, ip: f.ip })).id);
          for (const i of att.routerInterfaces) {
            const back = await ops.addRouterInterface({ routerId: ctx.id(i.routerId), vnetId: again.id, ip: i.ip, prefixLen: i.prefixLen, mac: i.mac, rip: i.rip });
            ctx.remap(i.id, back.id);
          }
          for (const i of att.firewallInterfaces) {
            const back = await ops.addFirewallInterface({ firewallId: ctx.id(i.firewallId), vnetId: again.id, name: i.name, ip: i.ip, prefixLen: i.prefixLen, mac: i.mac });
            ctx.remap(i.id, back.id);
          }
        },
      };
    }
    case 'vif': {
      const f = sel.item;
      return {
        label: `remove VIF ${f.ip}`,
        do: (ctx) => ops.deleteVif(ctx.id(f.id)),
        async undo(ctx) {
          ctx.remap(f.id, (await ops.createVif({ vmId: ctx.id(f.vmId), vnetId: ctx.id(f.vnetId), mac: f.mac, ip: f.ip })).id);
        },
      };
    }
    case 'routerInterface': {
      const i = sel.item;
      return {
        label: `remove router interface ${i.ip}`,
        do: (ctx) => ops.removeRouterInterface(ctx.id(i.id)),
        async undo(ctx) {
          const back = await ops.addRouterInterface({ routerId: ctx.id(i.routerId), vnetId: ctx.id(i.vnetId), ip: i.ip, prefixLen: i.prefixLen, mac: i.mac, rip: i.rip });
          ctx.remap(i.id, back.id);
        },
      };
    }
    case 'firewallInterface': {
      const i = sel.item;
      return {
        label: `remove firewall interface ${i.name}`,
        do: (ctx) => ops.removeFirewallInterface(ctx.id(i.id)),
        async undo(ctx) {
          const back = await ops.addFirewallInterface({ firewallId: ctx.id(i.firewallId), vnetId: ctx.id(i.vnetId), name: i.name, ip: i.ip, prefixLen: i.prefixLen, mac: i.mac });
          ctx.remap(i.id, back.id);
        },
      };
    }
    case 'routerLink': {
      const l = sel.item;
      return {
        label: `unlink routers (${l.cidr})`,
        do: (ctx) => ops.unlink(ctx.id(l.id)),
        async undo(ctx) {
          const back = await ops.link({ routerAId: ctx.id(l.routerAId), routerBId: ctx.id(l.routerBId), cidr: l.cidr, ipA: l.ipA, ipB: l.ipB, rip: l.rip });
          ctx.remap(l.id, back.id);
        },
      };
    }
  }
}

/** The fields an edit may change, per kind; the command flips between `before` and `after`. */
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
