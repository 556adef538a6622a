// Virtual machines: a name, an optional host placement, a guest kind and
// VIFs (eth0, eth1, ...) on the farm's vnets.
import { badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import {
  requireFarm, requireNameFree, resolveHost, type ServiceCtx, type Tx,
} from './farmAccess.ts';
import { requireRoom } from './farmLimits.ts';
import type { VmView } from './farmShapes.ts';
import { toVmView, vmSelect } from './farmViews.ts';
import { joinDefaultGroup } from './securityGroups.ts';
import { requireHostRunsGuest } from './placements.ts';
import { assignAddresses, vifLabel } from './ipam.ts';
import { editFarm } from './farmEdit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';
import { requireVnetInFarm, type VnetRef } from './vnets.ts';

type GuestKind = VmView['guestKind'];

export async function requireVm(tx: Tx, actor: UserActor, id: string, field = 'id') {
  const vm = await tx.vm.findFirst({
    where: { id, farm: { tenantId: actor.tenantId } },
    select: { ...vmSelect, farm: { select: { id: true, tenantId: true } } },
  });
  if (!vm) throw notFound('VM', field);
  return vm;
}

export async function listVms(o: ServiceCtx & { farmId: string; cursor?: string | undefined; limit: number }) {
  await requireFarm(o.db, o.actor, o.farmId);
  const where = { farmId: o.farmId };
  await checkCursor(o.cursor, (id) => o.db.vm.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await o.db.vm.findMany({ where, select: vmSelect, orderBy: ORDER_BY_CREATED, ...pageArgs(o) });
  return toPage(rows.map(toVmView), o);
}

export async function getVm(o: ServiceCtx & { id: string }): Promise<VmView> {
  const { farm: _farm, ...vm } = await requireVm(o.db, o.actor, o.id);
  return toVmView(vm);
}

export interface CreateVmInput {
  farmId: string;
  expectedRevision: number;
  name: string;
  hostId?: string | null | undefined;
  guestKind?: GuestKind | undefined;
  bandwidthMbps?: number | null | undefined;
  burstKb?: number | null | undefined;
  vifs?: { vnetId: string; mac?: string | undefined; ip?: string | undefined }[] | undefined;
}

export async function createVm(o: ServiceCtx & CreateVmInput): Promise<{ farmRevision: number; vm: VmView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const farm = await requireFarm(tx, o.actor, o.farmId);
    await bump(farm);
    await requireRoom(tx, farm.id, 'vms', 1, 'farmId');
    await requireRoom(tx, farm.id, 'vifs', o.vifs?.length ?? 0, 'vifs');
    await requireNameFree(tx, 'vm', farm.id, o.name);
    const hostId = await resolveHost(tx, o.hostId);
    await requireHostRunsGuest(tx, hostId, o.guestKind ?? 'emulated', 'hostId');
    const limit = checkLimit(o.bandwidthMbps ?? null, o.burstKb ?? null);
    const wanted = o.vifs ?? [];
    const vnets: VnetRef[] = [];
    for (const [i, v] of wanted.entries()) vnets.push(await requireVnetInFarm(tx, farm.id, v.vnetId, `vifs.${i}.vnetId`));
    const addrs = await assignAddresses(
      tx,
      wanted.map((v, i) => ({ field: `vifs.${i}`, vnet: vnets[i]!, ip: v.ip, mac: v.mac, label: vifLabel(o.name, `eth${i}`), from: 'low' })),
    );
    const row = await tx.vm.create({
      data: {
        farmId: farm.id,
        name: o.name,
        hostId,
        guestKind: o.guestKind ?? 'emulated',
        ...limit,
        vifs: { create: addrs.map((a, i) => ({ vnetId: vnets[i]!.id, name: `eth${i}`, mac: a.mac, ip: a.ip })) },
      },
      select: { id: true, vifs: { select: { id: true } } },
    });
    await joinDefaultGroup(tx, farm.id, row.vifs.map((v) => v.id));
    const vm = toVmView((await tx.vm.findUnique({ where: { id: row.id }, select: vmSelect }))!);
    return { result: { vm }, audit: { action: 'vm.create', entity: 'vm', entityId: vm.id, after: vm } };
  });
}

export interface UpdateVmInput {
  id: string;
  expectedRevision: number;
  name?: string | undefined;
  guestKind?: GuestKind | undefined;
  /** null removes the limit (and its burst); omitted leaves it alone. */
  bandwidthMbps?: number | null | undefined;
  burstKb?: number | null | undefined;
  /** null takes the VM off its host; omitted leaves the placement alone. */
  hostId?: string | null | undefined;
}

export async function updateVm(o: ServiceCtx & UpdateVmInput): Promise<{ farmRevision: number; vm: VmView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireVm(tx, o.actor, o.id);
    await bump(farm);
    const data: {
      name?: string; guestKind?: GuestKind; hostId?: string | null; locationVersion?: { increment: number };
      bandwidthMbps?: number | null; burstKb?: number | null;
    } = {};
    if (o.name !== undefined && o.name !== current.name) {
      await requireNameFree(tx, 'vm', farm.id, o.name, o.id);
      data.name = o.name;
    }
    // A live migration under way (server/control/liveMigration.ts) is finished or cancelled before the VM is placed again.
    const moving = (field: string) => {
      if (current.migratingToHostId !== null) {
        throw conflict(field, `VM ${current.name} is being live-migrated; let the move finish or cancel it first (vm.cancelMigration)`);
      }
    };
    if (o.guestKind !== undefined) {
      if (o.guestKind !== current.guestKind) moving('guestKind');
      data.guestKind = o.guestKind;
    }
    if (o.bandwidthMbps !== undefined || o.burstKb !== undefined) {
      const rate = o.bandwidthMbps !== undefined ? o.bandwidthMbps : current.bandwidthMbps;
      const burst = o.burstKb !== undefined ? o.burstKb : o.bandwidthMbps === null ? null : current.burstKb;
      Object.assign(data, checkLimit(rate, burst));
    }
    if (o.hostId !== undefined) {
      const hostId = await resolveHost(tx, o.hostId);
      if (hostId !== current.hostId) {
        moving('hostId');
        data.hostId = hostId;
        // docs/wire.md, VARP: receivers ignore ANNOUNCEs older than what they cache, so every move counts up.
        data.locationVersion = { increment: 1 };
      }
    }
    // A new host, or a new guest kind on the same host, must be one the host runs; the field blamed is the one that changed.
    if (data.hostId !== undefined || (data.guestKind !== undefined && data.guestKind !== current.guestKind)) {
      const hostId = data.hostId !== undefined ? data.hostId : current.hostId;
      await requireHostRunsGuest(tx, hostId, data.guestKind ?? current.guestKind, data.hostId !== undefined ? 'hostId' : 'guestKind');
    }
    const row = await tx.vm.update({ where: { id: o.id }, data, select: vmSelect });
    const vm = toVmView(row);
    return { result: { vm }, audit: { action: 'vm.update', entity: 'vm', entityId: o.id, before: toVmView(current), after: vm } };
  });
}

/** A burst only means something with a rate. */
function checkLimit(bandwidthMbps: number | null, burstKb: number | null): { bandwidthMbps: number | null; burstKb: number | null } {
  if (burstKb !== null && bandwidthMbps === null) throw badRequest('burstKb', 'needs bandwidthMbps (a burst without a rate limits nothing)');
  return { bandwidthMbps, burstKb };
}

export async function deleteVm(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireVm(tx, o.actor, o.id);
    await bump(farm);
    await tx.vm.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'vm.delete', entity: 'vm', entityId: o.id, before: toVmView(current) } };
  });
}
