// Vnets: a farm's virtual Ethernet segments, each with a vnet id unique
// across the whole deployment (docs/wire.md: the 32-bit id in every FRAME).
import { AppError, badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import {
  requireFarm, requireNameFree, type ServiceCtx, type Tx,
} from './farmAccess.ts';
import { requireRoom } from './farmLimits.ts';
import { lockVnidAllocation } from './farmImport.ts';
import { heldByOther, vnidHolds, vnidTakenMessage } from './vnidHolds.ts';
import type { VnetView } from './farmShapes.ts';
import { toVnetView, vnetSelect } from './farmViews.ts';
import { allocateVnids, loadAddressSpace } from './ipam.ts';
import { editFarm } from './farmEdit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';
import { dhcpOfRow, resolveDhcp, type VnetDhcp, type VnetDhcpInput } from './vnetDhcp.ts';
import { broadcastOf, checkMtu, checkVnid, cidrContains, formatIpv4, MTU_DEFAULT, requireCidr, VNET_PREFIX } from './validate.ts';

type Security = VnetView['security'];

export interface VnetRef {
  id: string;
  farmId: string;
  name: string;
  cidr: string;
  vnid: number;
}

/** A vnet of the given farm; a vnet of another farm (or tenant) is NOT_FOUND under `field`. */
export async function requireVnetInFarm(tx: Tx, farmId: string, vnetId: string, field: string): Promise<VnetRef> {
  const v = await tx.vnet.findFirst({ where: { id: vnetId, farmId }, select: { id: true, farmId: true, name: true, cidr: true, vnid: true } });
  if (!v) throw new AppError('NOT_FOUND', `${field}: no vnet with this id in the farm`, { field });
  return { ...v, vnid: Number(v.vnid) };
}

async function requireVnet(tx: Tx, actor: UserActor, id: string) {
  const v = await tx.vnet.findFirst({
    where: { id, farm: { tenantId: actor.tenantId } },
    select: { ...vnetSelect, farm: { select: { id: true, tenantId: true } } },
  });
  if (!v) throw notFound('vnet', 'id');
  return v;
}

/**
 * A free vnet id: the lowest one from 100 up that nothing holds (intent,
 * deployed revisions, stored parts), or the requested one if no other vnet has
 * it and no other farm's deployment still carries it.
 */
async function pickVnid(tx: Tx, farmId: string, requested: number | undefined, exceptVnetId?: string): Promise<number> {
  await lockVnidAllocation(tx);
  const holds = await vnidHolds(tx);
  if (requested !== undefined) {
    checkVnid('vnid', requested);
    const holder = await tx.vnet.findUnique({ where: { vnid: BigInt(requested) }, select: { id: true } });
    if ((holder && holder.id !== exceptVnetId) || heldByOther(holds, requested, farmId)) throw conflict('vnid', vnidTakenMessage(requested));
    return requested;
  }
  return allocateVnids(holds.all, 1)[0]!;
}

export async function listVnets(o: ServiceCtx & { farmId: string; cursor?: string | undefined; limit: number }) {
  await requireFarm(o.db, o.actor, o.farmId);
  const where = { farmId: o.farmId };
  await checkCursor(o.cursor, (id) => o.db.vnet.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await o.db.vnet.findMany({ where, select: vnetSelect, orderBy: ORDER_BY_CREATED, ...pageArgs(o) });
  return toPage(rows.map(toVnetView), o);
}

export async function getVnet(o: ServiceCtx & { id: string }): Promise<VnetView> {
  const { farm: _farm, ...v } = await requireVnet(o.db, o.actor, o.id);
  return toVnetView(v);
}

export interface CreateVnetInput {
  farmId: string;
  expectedRevision: number;
  vnid?: number | undefined;
  name: string;
  cidr: string;
  mtu?: number | undefined;
  security?: Security | undefined;
  dhcp?: VnetDhcpInput | undefined;
}

export async function createVnet(o: ServiceCtx & CreateVnetInput): Promise<{ farmRevision: number; vnet: VnetView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const farm = await requireFarm(tx, o.actor, o.farmId);
    await bump(farm);
    await requireRoom(tx, farm.id, 'vnets', 1, 'farmId');
    const cidr = requireCidr('cidr', o.cidr, VNET_PREFIX);
    const mtu = checkMtu('mtu', o.mtu ?? MTU_DEFAULT);
    const dhcp = resolveDhcp('dhcp', cidr, o.dhcp);
    await requireNameFree(tx, 'vnet', farm.id, o.name);
    const vnid = await pickVnid(tx, farm.id, o.vnid);
    const row = await tx.vnet.create({
      data: { farmId: farm.id, vnid: BigInt(vnid), name: o.name, cidr: cidr.text, mtu, security: o.security ?? 'none', dhcp },
      select: vnetSelect,
    });
    const vnet = toVnetView(row);
    return { result: { vnet }, audit: { action: 'vnet.create', entity: 'vnet', entityId: vnet.id, after: vnet } };
  });
}

export interface UpdateVnetInput {
  id: string;
  expectedRevision: number;
  vnid?: number | undefined;
  name?: string | undefined;
  cidr?: string | undefined;
  mtu?: number | undefined;
  security?: Security | undefined;
  dhcp?: VnetDhcpInput | undefined;
}

export async function updateVnet(o: ServiceCtx & UpdateVnetInput): Promise<{ farmRevision: number; vnet: VnetView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireVnet(tx, o.actor, o.id);
    await bump(farm);
    const before = toVnetView(current);
    const data: { name?: string; cidr?: string; mtu?: number; security?: Security; vnid?: bigint; dhcp?: VnetDhcp } = {};
    if (o.name !== undefined && o.name !== current.name) {
      await requireNameFree(tx, 'vnet', farm.id, o.name, o.id);
      data.name = o.name;
    }
    if (o.cidr !== undefined) {
      const cidr = requireCidr('cidr', o.cidr, VNET_PREFIX);
      // Every address already handed out must stay a host address of the new prefix.
      const space = await loadAddressSpace(tx, current);
      for (const [ip, holder] of space.ips) {
        const host = cidrContains(cidr, ip) && (cidr.prefixLen > 30 || (ip !== cidr.network && ip !== broadcastOf(cidr)));
        if (!host) throw badRequest('cidr', `${formatIpv4(ip)} of ${holder} would not be a host address of ${cidr.text}`);
      }
      data.cidr = cidr.text;
    }
    if (o.mtu !== undefined) data.mtu = checkMtu('mtu', o.mtu);
    // The gateway must stay inside the (possibly new) prefix, even when only the prefix changed.
    if (o.dhcp !== undefined || o.cidr !== undefined) data.dhcp = resolveDhcp('dhcp', requireCidr('cidr', data.cidr ?? current.cidr, VNET_PREFIX), o.dhcp, dhcpOfRow(current.dhcp));
    if (o.security !== undefined) data.security = o.security;
    if (o.vnid !== undefined && o.vnid !== Number(current.vnid)) data.vnid = BigInt(await pickVnid(tx, farm.id, o.vnid, o.id));
    const row = await tx.vnet.update({ where: { id: o.id }, data, select: vnetSelect });
    const vnet = toVnetView(row);
    return { result: { vnet }, audit: { action: 'vnet.update', entity: 'vnet', entityId: o.id, before, after: vnet } };
  });
}

export interface VnetUsers {
  vifs: { vm: string; vif: string }[];
  routers: string[];
  firewalls: { firewall: string; interface: string }[];
}

export async function deleteVnet(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireVnet(tx, o.actor, o.id);
    await bump(farm);
    // One query after the other: a transaction is one connection, and pg refuses overlapping queries on it.
    const vifs = await tx.vif.findMany({ where: { vnetId: o.id }, select: { name: true, vm: { select: { name: true } } }, orderBy: { createdAt: 'asc' } });
    const routers = await tx.routerInterface.findMany({ where: { vnetId: o.id }, select: { router: { select: { name: true } } }, orderBy: { createdAt: 'asc' } });
    const firewalls = await tx.firewallInterface.findMany({
      where: { vnetId: o.id }, select: { name: true, firewall: { select: { name: true } } }, orderBy: { createdAt: 'asc' },
    });
    const users: VnetUsers = {
      vifs: vifs.map((v) => ({ vm: v.vm.name, vif: v.name })),
      routers: routers.map((r) => r.router.name),
      firewalls: firewalls.map((f) => ({ firewall: f.firewall.name, interface: f.name })),
    };
    const named = [
      ...users.vifs.map((v) => `VM ${v.vm} (${v.vif})`),
      ...users.routers.map((r) => `router ${r}`),
      ...users.firewalls.map((f) => `firewall ${f.firewall} (${f.interface})`),
    ];
    if (named.length) {
      const shown = named.length > 10 ? `${named.slice(0, 10).join(', ')} and ${named.length - 10} more` : named.join(', ');
      throw conflict('id', `vnet ${current.name} is still used by ${shown}; detach them first`, users);
    }
    await tx.vnet.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'vnet.delete', entity: 'vnet', entityId: o.id, before: toVnetView(current) } };
  });
}
