// Static routes and inter-router links. A link joins two routers of one farm
// with a point-to-point prefix; the agent carries it in-process when both
// routers share a host and over an automatic vnet otherwise.
import { badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { type ServiceCtx, type Tx } from './farmAccess.ts';
import { requireObjectRoom, requireRoom } from './farmLimits.ts';
import type { RouterLinkView, StaticRouteView } from './farmShapes.ts';
import { routerLinkSelect, staticRouteSelect } from './farmViews.ts';
import { allocateLinkCidr } from './ipam.ts';
import { checkConnected, checkLinkAddresses, checkStaticRoute, interfacePrefix } from './intentRules.ts';
import { loadConnected, requireRouter, routesLosingNextHop } from './routers.ts';
import { makeCidr, parseCidr, requireIpv4, VNET_PREFIX, type Cidr } from './validate.ts';
import { editFarm } from './farmEdit.ts';

export async function addStaticRoute(
  o: ServiceCtx & { routerId: string; expectedRevision: number; destination: string; nextHop: string; metric?: number | undefined },
): Promise<{ farmRevision: number; staticRoute: StaticRouteView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const router = await requireRouter(tx, o.actor, o.routerId, 'routerId');
    await bump(router.farm);
    await requireRoom(tx, router.farm.id, 'staticRoutes', 1, 'routerId');
    requireObjectRoom('staticRoutesPerRouter', `router ${router.name}`, router.staticRoutes.length, 'static routes', 'routerId');
    const route = checkStaticRoute(o, await loadConnected(tx, router.id), router.name, (n) => n);
    if (router.staticRoutes.some((s) => s.destination === route.destination)) {
      throw conflict('destination', `router ${router.name} already has a route to ${route.destination}`);
    }
    const row = await tx.staticRoute.create({ data: { ...route, routerId: router.id }, select: staticRouteSelect });
    return { result: { staticRoute: row }, audit: { action: 'router.addStaticRoute', entity: 'router', entityId: router.id, after: row } };
  });
}

export async function removeStaticRoute(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const route = await tx.staticRoute.findFirst({
      where: { id: o.id, router: { farm: { tenantId: o.actor.tenantId } } },
      select: { ...staticRouteSelect, router: { select: { farm: { select: { id: true, tenantId: true } } } } },
    });
    if (!route) throw notFound('static route', 'id');
    const { router, ...before } = route;
    await bump(router.farm);
    await tx.staticRoute.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'router.removeStaticRoute', entity: 'router', entityId: before.routerId, before } };
  });
}

/** Every prefix in use in the farm: vnets, router and firewall interfaces, links. */
async function farmPrefixes(tx: Tx, farmId: string): Promise<{ prefix: Cidr; what: string }[]> {
  // One query after the other: a transaction is one connection, and pg refuses overlapping queries on it.
  const vnets = await tx.vnet.findMany({ where: { farmId }, select: { name: true, cidr: true } });
  const rifs = await tx.routerInterface.findMany({ where: { router: { farmId } }, select: { ip: true, prefixLen: true, router: { select: { name: true } } } });
  const fifs = await tx.firewallInterface.findMany({ where: { firewall: { farmId } }, select: { ip: true, prefixLen: true, firewall: { select: { name: true } } } });
  const links = await tx.routerLink.findMany({ where: { farmId }, select: { cidr: true } });
  return [
    ...vnets.map((v) => ({ prefix: parseCidr(v.cidr, VNET_PREFIX)!, what: `vnet ${v.name}` })),
    ...rifs.map((i) => ({ prefix: makeCidr(requireIpv4('ip', i.ip), i.prefixLen), what: `router ${i.router.name}` })),
    ...fifs.map((i) => ({ prefix: makeCidr(requireIpv4('ip', i.ip), i.prefixLen), what: `firewall ${i.firewall.name}` })),
    ...links.map((l) => ({ prefix: parseCidr(l.cidr, { min: 30, max: 31 })!, what: 'another link' })),
  ];
}

export interface LinkInput {
  expectedRevision: number;
  routerAId: string;
  routerBId: string;
  cidr?: string | undefined;
  ipA?: string | undefined;
  ipB?: string | undefined;
  rip?: boolean | undefined;
}

export async function linkRouters(o: ServiceCtx & LinkInput): Promise<{ farmRevision: number; link: RouterLinkView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const a = await requireRouter(tx, o.actor, o.routerAId, 'routerAId');
    const b = await requireRouter(tx, o.actor, o.routerBId, 'routerBId');
    if (a.farm.id !== b.farm.id) throw badRequest('routerBId', `router ${b.name} is in another farm than ${a.name}`);
    await bump(a.farm);
    await requireRoom(tx, a.farm.id, 'routerLinks', 1, 'routerAId');
    if (a.id === b.id) throw badRequest('routerBId', 'a router cannot be linked to itself');
    const existing = await tx.routerLink.findFirst({
      where: { OR: [{ routerAId: a.id, routerBId: b.id }, { routerAId: b.id, routerBId: a.id }] },
      select: { id: true },
    });
    if (existing) throw conflict('routerBId', `routers ${a.name} and ${b.name} are already linked`);
    if (o.cidr === undefined && (o.ipA !== undefined || o.ipB !== undefined)) throw badRequest('cidr', 'required when ipA or ipB is given');
    const occupied = await farmPrefixes(tx, a.farm.id);
    const addr =
      o.cidr === undefined
        ? allocateLinkCidr(occupied.map((x) => x.prefix))
        : checkLinkAddresses({ cidr: o.cidr, ipA: o.ipA, ipB: o.ipB }, occupied, (n) => n);
    // The link's prefix becomes connected on both routers.
    for (const [r, ip] of [[a, addr.ipA], [b, addr.ipB]] as const) {
      const connected = await loadConnected(tx, r.id);
      const n = requireIpv4('cidr', ip);
      connected.push({ vnet: null, vnetName: '', prefix: interfacePrefix('cidr', n, addr.cidr.prefixLen), ip: n, fieldVnet: 'cidr', fieldIp: 'cidr' });
      checkConnected(connected, `router ${r.name}`);
    }
    const row = await tx.routerLink.create({
      data: { farmId: a.farm.id, routerAId: a.id, routerBId: b.id, cidr: addr.cidr.text, ipA: addr.ipA, ipB: addr.ipB, rip: o.rip ?? false },
      select: routerLinkSelect,
    });
    return { result: { link: row }, audit: { action: 'router.link', entity: 'routerLink', entityId: row.id, after: row } };
  });
}

export async function unlinkRouters(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const link = await requireLink(tx, o.actor, o.id);
    await bump({ id: link.farmId, tenantId: o.actor.tenantId });
    for (const routerId of [link.routerAId, link.routerBId]) {
      const connected = (await loadConnected(tx, routerId)).filter((c) => !(c.vnet === null && c.prefix.text === link.cidr));
      const lost = await routesLosingNextHop(tx, routerId, connected);
      if (lost.length) {
        const list = lost.map((r) => `${r.destination} via ${r.nextHop}`).join(', ');
        throw conflict('id', `static routes ${list} use this link; remove them first`, { routes: lost });
      }
    }
    await tx.routerLink.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'router.unlink', entity: 'routerLink', entityId: o.id, before: link } };
  });
}

async function requireLink(tx: Tx, actor: UserActor, id: string): Promise<RouterLinkView> {
  const link = await tx.routerLink.findFirst({ where: { id, farm: { tenantId: actor.tenantId } }, select: routerLinkSelect });
  if (!link) throw notFound('router link', 'id');
  return link;
}
