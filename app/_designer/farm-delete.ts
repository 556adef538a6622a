// Deleting a designer object as one undoable command: what it needs to come
// back (a VM with its VIFs, a router with interfaces, routes and links, a
// firewall with interfaces and rules, a vnet with everything attached to it)
// is copied when the command is made, and the ids the objects get when they
// are created again are remapped (see lib/graph/commands.ts).
import { detachLegCommand, type LegOps } from './leg-ops.ts';
import type { Command, CommandContext } from '../lib/graph/commands.ts';
import type { FarmDetail, Position } from '../lib/graph/elements.ts';
import type { FarmSelection } from '../lib/graph/farm-graph.ts';
import type { FarmOps, FirewallView, RouterView, RuleInput, VmView } from './farm-ops.ts';
import type { Place } from './farm-commands.ts';

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

/** An edge removed, and put back on undo under the id `recreate` gives it. */
function removal(label: string, id: string, remove: (id: string) => Promise<unknown>, recreate: (ctx: CommandContext) => Promise<{ id: string }>): Command {
  return {
    label,
    async do(ctx) {
      await remove(ctx.id(id));
    },
    async undo(ctx) {
      ctx.remap(id, (await recreate(ctx)).id);
    },
  };
}

/**
 * Deletes the selected object. What it needs to come back is copied now:
 * a VM with its VIFs, a router with interfaces, routes and links, a firewall
 * with interfaces and rules, a vnet with everything attached to it.
 */
export function deleteCommand(
  ops: FarmOps, farm: FarmDetail, sel: FarmSelection, place: Place, positionOf: (id: string) => Position | undefined, legOps?: LegOps,
): Command {
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
      return removal(`remove VIF ${f.ip}`, f.id, (id) => ops.deleteVif(id), (ctx) => ops.createVif({ vmId: ctx.id(f.vmId), vnetId: ctx.id(f.vnetId), mac: f.mac, ip: f.ip }));
    }
    case 'routerInterface': {
      const i = sel.item;
      return removal(`remove router interface ${i.ip}`, i.id, (id) => ops.removeRouterInterface(id), (ctx) =>
        ops.addRouterInterface({ routerId: ctx.id(i.routerId), vnetId: ctx.id(i.vnetId), ip: i.ip, prefixLen: i.prefixLen, mac: i.mac, rip: i.rip }));
    }
    case 'firewallInterface': {
      const i = sel.item;
      return removal(`remove firewall interface ${i.name}`, i.id, (id) => ops.removeFirewallInterface(id), (ctx) =>
        ops.addFirewallInterface({ firewallId: ctx.id(i.firewallId), vnetId: ctx.id(i.vnetId), name: i.name, ip: i.ip, prefixLen: i.prefixLen, mac: i.mac }));
    }
    case 'routerLink': {
      const l = sel.item;
      return removal(`unlink routers (${l.cidr})`, l.id, (id) => ops.unlink(id), (ctx) =>
        ops.link({ routerAId: ctx.id(l.routerAId), routerBId: ctx.id(l.routerBId), cidr: l.cidr, ipA: l.ipA, ipB: l.ipB, rip: l.rip }));
    }
    case 'externalLeg':
      if (!legOps) throw new Error('detaching an external leg needs the leg operations');
      return detachLegCommand(legOps, sel.item);
  }
}

/** The fields an edit may change, per kind; the command flips between `before` and `after`. */
