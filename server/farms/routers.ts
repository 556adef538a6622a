// Virtual routers: a placement and interfaces on the farm's vnets (each an
// address, a prefix length, a MAC and RIP on/off). Static routes and
// inter-router links live in routerLinks.ts.
import { conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import {
  requireFarm, requireNameFree, resolveHost, type ServiceCtx, type Tx,
} from './farmAccess.ts';
import { requireObjectRoom, requireRoom } from './farmLimits.ts';
import type { RouterInterfaceView, RouterView } from './farmShapes.ts';
import { routerInterfaceSelect, routerSelect, toRouterView } from './farmViews.ts';
import { reassignAddresses, routerLabel } from './ipam.ts';
import { checkConnected, interfacePrefix, type Connected } from './intentRules.ts';
import { editFarm } from './farmEdit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';
import { checkPrefixLen, cidrContains, formatIpv4, parseCidr, requireIpv4 } from './validate.ts';
import { planNodeInterfaces, type NodeInterfaceInput } from './nodeInterfaces.ts';

export async function requireRouter(tx: Tx, actor: UserActor, id: string, field = 'id') {
  const r = await tx.router.findFirst({
    where: { id, farm: { tenantId: actor.tenantId } },
    select: { ...routerSelect, farm: { select: { id: true, tenantId: true } } },
  });
  if (!r) throw notFound('router', field);
  return r;
}

/**
 * Everything a router is directly connected to: its interfaces' prefixes
 * and its links' point-to-point prefixes, optionally leaving one interface out.
 */
export async function loadConnected(tx: Tx, routerId: string, exceptInterfaceId?: string): Promise<Connected[]> {
  // One query after the other: a transaction is one connection, and pg refuses overlapping queries on it.
  const ifaces = await tx.routerInterface.findMany({
    where: { routerId, ...(exceptInterfaceId ? { NOT: { id: exceptInterfaceId } } : {}) },
    select: { vnetId: true, ip: true, prefixLen: true, vnet: { select: { name: true } } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
  const links = await tx.routerLink.findMany({ where: { OR: [{ routerAId: routerId }, { routerBId: routerId }] }, select: { routerAId: true, cidr: true, ipA: true, ipB: true } });
  const out: Connected[] = ifaces.map((i) => {
    const ip = requireIpv4('ip', i.ip);
    return {
    vnet: i.vnetId, vnetName: i.vnet.name, prefix: interfacePrefix('ip', ip, i.prefixLen), ip, fieldVnet: 'vnetId', fieldIp: 'ip',
    };
  });
  for (const l of links) {
    const prefix = parseCidr(l.cidr, { min: 30, max: 31 })!;
    const ip = requireIpv4('ip', l.routerAId === routerId ? l.ipA : l.ipB);
    out.push({ vnet: null, vnetName: '', prefix, ip, fieldVnet: 'cidr', fieldIp: 'cidr' });
  }
  return out;
}

/** Static routes must keep a next hop on a connected prefix after an interface changes or goes. */
export async function routesLosingNextHop(tx: Tx, routerId: string, connected: Connected[]) {
  const routes = await tx.staticRoute.findMany({ where: { routerId }, select: { destination: true, nextHop: true } });
  return routes.filter((r) => !connected.some((c) => cidrContains(c.prefix, requireIpv4('nextHop', r.nextHop))));
}

export async function listRouters(o: ServiceCtx & { farmId: string; cursor?: string | undefined; limit: number }) {
  await requireFarm(o.db, o.actor, o.farmId);
  const where = { farmId: o.farmId };
  await checkCursor(o.cursor, (id) => o.db.router.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await o.db.router.findMany({ where, select: routerSelect, orderBy: ORDER_BY_CREATED, ...pageArgs(o) });
  return toPage(rows.map(toRouterView), o);
}

export async function getRouter(o: ServiceCtx & { id: string }): Promise<RouterView> {
  const { farm: _farm, ...r } = await requireRouter(o.db, o.actor, o.id);
  return toRouterView(r);
}

export interface InterfaceInput extends NodeInterfaceInput {
  rip?: boolean | undefined;
}

/** New interfaces for one router: addresses, prefixes, and the distinct-vnet / no-overlap rule. */
async function planInterfaces(tx: Tx, farmId: string, routerName: string, existing: Connected[], wanted: { input: InterfaceInput; base: string }[]) {
  const planned = await planNodeInterfaces(tx, { farmId, node: `router ${routerName}`, existing, wanted, label: () => routerLabel(routerName) });
  return planned.map((p) => ({ vnetId: p.vnet.id, ip: formatIpv4(p.ipNumber), prefixLen: p.prefixLen, mac: p.mac, rip: p.input.rip ?? false }));
}

export async function createRouter(
  o: ServiceCtx & { farmId: string; expectedRevision: number; name: string; hostId?: string | null | undefined; interfaces?: InterfaceInput[] | undefined },
): Promise<{ farmRevision: number; router: RouterView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const farm = await requireFarm(tx, o.actor, o.farmId);
    await bump(farm);
    await requireRoom(tx, farm.id, 'routers', 1, 'farmId');
    await requireRoom(tx, farm.id, 'routerInterfaces', o.interfaces?.length ?? 0, 'interfaces');
    await requireNameFree(tx, 'router', farm.id, o.name);
    const hostId = await resolveHost(tx, o.hostId);
    const rows = await planInterfaces(
      tx, farm.id, o.name, [], (o.interfaces ?? []).map((input, i) => ({ input, base: `interfaces.${i}` })),
    );
    const row = await tx.router.create({
      data: { farmId: farm.id, name: o.name, hostId, interfaces: { create: rows } },
      select: routerSelect,
    });
    const router = toRouterView(row);
    return { result: { router }, audit: { action: 'router.create', entity: 'router', entityId: router.id, after: router } };
  });
}

export async function updateRouter(
  o: ServiceCtx & { id: string; expectedRevision: number; name?: string | undefined; hostId?: string | null | undefined },
): Promise<{ farmRevision: number; router: RouterView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireRouter(tx, o.actor, o.id);
    await bump(farm);
    const data: { name?: string; hostId?: string | null } = {};
    if (o.name !== undefined && o.name !== current.name) {
      await requireNameFree(tx, 'router', farm.id, o.name, o.id);
      data.name = o.name;
    }
    if (o.hostId !== undefined) data.hostId = await resolveHost(tx, o.hostId);
    const router = toRouterView(await tx.router.update({ where: { id: o.id }, data, select: routerSelect }));
    return {
      result: { router },
      audit: {
        action: 'router.update', entity: 'router', entityId: o.id, before: toRouterView(current), after: router,
      },
    };
  });
}

export async function deleteRouter(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireRouter(tx, o.actor, o.id);
    await bump(farm);
    // Its interfaces, static routes and links go with it.
    await tx.router.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'router.delete', entity: 'router', entityId: o.id, before: toRouterView(current) } };
  });
}

export async function addRouterInterface(
  o: ServiceCtx & InterfaceInput & { routerId: string; expectedRevision: number },
): Promise<{ farmRevision: number; interface: RouterInterfaceView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const router = await requireRouter(tx, o.actor, o.routerId, 'routerId');
    await bump(router.farm);
    await requireRoom(tx, router.farm.id, 'routerInterfaces', 1, 'routerId');
    const own = await tx.routerInterface.count({ where: { routerId: router.id } });
    requireObjectRoom('interfacesPerNode', `router ${router.name}`, own, 'interfaces', 'routerId');
    const existing = await loadConnected(tx, router.id);
    const [data] = await planInterfaces(tx, router.farm.id, router.name, existing, [{ input: o, base: '' }]);
    const row = await tx.routerInterface.create({ data: { ...data!, routerId: router.id }, select: routerInterfaceSelect });
    return { result: { interface: row }, audit: { action: 'router.addInterface', entity: 'router', entityId: router.id, after: row } };
  });
}

async function requireRouterInterface(tx: Tx, actor: UserActor, id: string) {
  const i = await tx.routerInterface.findFirst({
    where: { id, router: { farm: { tenantId: actor.tenantId } } },
    select: {
      ...routerInterfaceSelect,
      router: { select: { id: true, name: true, farm: { select: { id: true, tenantId: true } } } },
      vnet: { select: { id: true, name: true, cidr: true } },
    },
  });
  if (!i) throw notFound('router interface', 'id');
  return i;
}

export async function updateRouterInterface(
  o: ServiceCtx & { id: string; expectedRevision: number; ip?: string | undefined; prefixLen?: number | undefined; mac?: string | undefined; rip?: boolean | undefined },
): Promise<{ farmRevision: number; interface: RouterInterfaceView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { router, vnet, ...current } = await requireRouterInterface(tx, o.actor, o.id);
    await bump(router.farm);
    const addr = await reassignAddresses(tx, { vnet, current, ip: o.ip, mac: o.mac, label: routerLabel(router.name) });
    const prefixLen = o.prefixLen === undefined ? current.prefixLen : checkPrefixLen('prefixLen', o.prefixLen);
    const ip = requireIpv4('ip', addr.ip);
    const connected = await loadConnected(tx, router.id, o.id);
    connected.push({ vnet: vnet.id, vnetName: vnet.name, prefix: interfacePrefix('ip', ip, prefixLen), ip, fieldVnet: 'vnetId', fieldIp: 'ip' });
    checkConnected(connected, `router ${router.name}`);
    const lost = await routesLosingNextHop(tx, router.id, connected);
    if (lost.length) {
      const r = lost[0]!;
      throw conflict('ip', `static route ${r.destination} via ${r.nextHop} would lose its next hop; change or remove it first`, { routes: lost });
    }
    const row = await tx.routerInterface.update({
      where: { id: o.id },
      data: { ip: addr.ip, mac: addr.mac, prefixLen, ...(o.rip !== undefined ? { rip: o.rip } : {}) },
      select: routerInterfaceSelect,
    });
    return { result: { interface: row }, audit: { action: 'router.updateInterface', entity: 'router', entityId: router.id, before: current, after: row } };
  });
}

export async function removeRouterInterface(
  o: ServiceCtx & { id: string; expectedRevision: number },
): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { router, vnet: _vnet, ...current } = await requireRouterInterface(tx, o.actor, o.id);
    await bump(router.farm);
    const lost = await routesLosingNextHop(tx, router.id, await loadConnected(tx, router.id, o.id));
    if (lost.length) {
      const list = lost.map((r) => `${r.destination} via ${r.nextHop}`).join(', ');
      throw conflict('id', `static routes ${list} use this interface; remove them first`, { routes: lost });
    }
    await tx.routerInterface.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'router.removeInterface', entity: 'router', entityId: router.id, before: current } };
  });
}
