// External legs in the designer: the API operations on a router's or
// firewall's leg, its floating IPs and port forwards (sent with the revision
// the page works from, like farm-ops.ts), and undoable commands over them.
import type { inferRouterInputs } from '@trpc/server';
import type { AppRouter } from '../../server/routers/_app.ts';
import type { ApiClient } from '../lib/trpc.ts';
import type { Command, CommandContext } from '../lib/graph/commands.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { revisionWriter, type RevisionRef } from './farm-ops.ts';

type In = inferRouterInputs<AppRouter>;
export type LegView = FarmDetail['externalLegs'][number];
export type FloatingIpView = LegView['floatingIps'][number];
export type PortForwardView = LegView['portForwards'][number];
export type LegSpec = Omit<In['externalLeg']['create'], 'expectedRevision'>;
export type LegPatch = Omit<In['externalLeg']['update'], 'id' | 'expectedRevision'>;
export type FloatingIpSpec = Omit<In['floatingIp']['create'], 'expectedRevision'>;
export type PortForwardSpec = Omit<In['portForward']['create'], 'expectedRevision'>;

export interface LegOps {
  createLeg(s: LegSpec): Promise<LegView>;
  updateLeg(id: string, p: LegPatch): Promise<LegView>;
  deleteLeg(id: string): Promise<void>;
  createFloatingIp(s: FloatingIpSpec): Promise<FloatingIpView>;
  deleteFloatingIp(id: string): Promise<void>;
  createPortForward(s: PortForwardSpec): Promise<PortForwardView>;
  deletePortForward(id: string): Promise<void>;
}

export function makeLegOps(client: ApiClient, rev: RevisionRef): LegOps {
  const write = revisionWriter(rev);
  const done = () => undefined;
  return {
    createLeg: (s) => write((e) => client.externalLeg.create.mutate({ ...s, expectedRevision: e })).then((r) => r.leg),
    updateLeg: (id, p) => write((e) => client.externalLeg.update.mutate({ ...p, id, expectedRevision: e })).then((r) => r.leg),
    deleteLeg: (id) => write((e) => client.externalLeg.delete.mutate({ id, expectedRevision: e })).then(done),
    createFloatingIp: (s) => write((e) => client.floatingIp.create.mutate({ ...s, expectedRevision: e })).then((r) => r.floatingIp),
    deleteFloatingIp: (id) => write((e) => client.floatingIp.delete.mutate({ id, expectedRevision: e })).then(done),
    createPortForward: (s) => write((e) => client.portForward.create.mutate({ ...s, expectedRevision: e })).then((r) => r.portForward),
    deletePortForward: (id) => write((e) => client.portForward.delete.mutate({ id, expectedRevision: e })).then(done),
  };
}

/** Puts a leg back as it was (address, MAC, SNAT, floating IPs, forwards), mapping its old ids to the new ones. */
async function recreateLeg(ops: LegOps, ctx: CommandContext, leg: LegView): Promise<LegView> {
  const node = leg.routerId ? { routerId: ctx.id(leg.routerId) } : { firewallId: ctx.id(leg.firewallId!) };
  const made = await ops.createLeg({ ...node, externalNetworkId: leg.externalNetworkId, ip: leg.ip, mac: leg.mac, snat: leg.snat });
  ctx.remap(leg.id, made.id);
  for (const f of leg.floatingIps) ctx.remap(f.id, (await ops.createFloatingIp({ legId: made.id, vifId: ctx.id(f.vifId), ip: f.ip })).id);
  for (const p of leg.portForwards) {
    const { id: _id, legId: _l, vifId, ...rest } = p;
    ctx.remap(p.id, (await ops.createPortForward({ ...rest, legId: made.id, vifId: ctx.id(vifId) })).id);
  }
  return made;
}

export function attachLegCommand(ops: LegOps, spec: LegSpec, label: string): Command {
  let original: string | null = null;
  return {
    label,
    async do(ctx) {
      const node = spec.routerId ? { routerId: ctx.id(spec.routerId) } : { firewallId: ctx.id(spec.firewallId!) };
      const made = await ops.createLeg({ ...spec, ...node });
      if (original === null) original = made.id;
      else ctx.remap(original, made.id);
    },
    async undo(ctx) {
      if (original !== null) await ops.deleteLeg(ctx.id(original));
    },
  };
}

export function detachLegCommand(ops: LegOps, leg: LegView): Command {
  return {
    label: `detach from external network ${leg.networkName}`,
    async do(ctx) {
      await ops.deleteLeg(ctx.id(leg.id));
    },
    async undo(ctx) {
      await recreateLeg(ops, ctx, leg);
    },
  };
}

export function updateLegCommand(ops: LegOps, leg: LegView, after: LegPatch): Command {
  const before: LegPatch = { ip: leg.ip, snat: leg.snat };
  return {
    label: `edit external leg on ${leg.networkName}`,
    async do(ctx) {
      await ops.updateLeg(ctx.id(leg.id), after);
    },
    async undo(ctx) {
      await ops.updateLeg(ctx.id(leg.id), before);
    },
  };
}

/** Adds a floating IP or a port forward; undo removes it. */
export function addNatCommand(ops: LegOps, what: { floatingIp: FloatingIpSpec } | { portForward: PortForwardSpec }, label: string): Command {
  let original: string | null = null;
  const make = async (ctx: CommandContext) => ('floatingIp' in what
    ? ops.createFloatingIp({ ...what.floatingIp, legId: ctx.id(what.floatingIp.legId), vifId: ctx.id(what.floatingIp.vifId) })
    : ops.createPortForward({ ...what.portForward, legId: ctx.id(what.portForward.legId), vifId: ctx.id(what.portForward.vifId) }));
  return {
    label,
    async do(ctx) {
      const made = await make(ctx);
      if (original === null) original = made.id;
      else ctx.remap(original, made.id);
    },
    async undo(ctx) {
      if (original === null) return;
      if ('floatingIp' in what) await ops.deleteFloatingIp(ctx.id(original));
      else await ops.deletePortForward(ctx.id(original));
    },
  };
}

/** Removes a floating IP or a port forward; undo puts it back as it was. */
export function removeNatCommand(ops: LegOps, what: { floatingIp: FloatingIpView } | { portForward: PortForwardView }, label: string): Command {
  return {
    label,
    async do(ctx) {
      if ('floatingIp' in what) await ops.deleteFloatingIp(ctx.id(what.floatingIp.id));
      else await ops.deletePortForward(ctx.id(what.portForward.id));
    },
    async undo(ctx) {
      if ('floatingIp' in what) {
        const f = what.floatingIp;
        ctx.remap(f.id, (await ops.createFloatingIp({ legId: ctx.id(f.legId), vifId: ctx.id(f.vifId), ip: f.ip })).id);
      } else {
        const { id, legId, vifId, ...rest } = what.portForward;
        ctx.remap(id, (await ops.createPortForward({ ...rest, legId: ctx.id(legId), vifId: ctx.id(vifId) })).id);
      }
    },
  };
}
