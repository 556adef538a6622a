// Virtual interfaces: a VM's port on a vnet, with a MAC and an IPv4 address
// unique on that vnet. Names are eth<n>, the lowest free n of the VM.
import { badRequest, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { requireFarm, type ServiceCtx, type Tx } from './farmAccess.ts';
import { requireObjectRoom, requireRoom } from './farmLimits.ts';
import type { VifView } from './farmShapes.ts';
import { toVifView, vifSelect } from './farmViews.ts';
import { joinDefaultGroup } from './securityGroups.ts';
import { assignAddresses, reassignAddresses, vifLabel } from './ipam.ts';
import { editFarm } from './farmEdit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';
import { requireVm } from './vms.ts';
import { requireVnetInFarm } from './vnets.ts';

async function requireVif(tx: Tx, actor: UserActor, id: string) {
  const vif = await tx.vif.findFirst({
    where: { id, vm: { farm: { tenantId: actor.tenantId } } },
    select: {
      ...vifSelect,
      vm: { select: { name: true, farm: { select: { id: true, tenantId: true } } } },
      vnet: { select: { id: true, name: true, cidr: true } },
    },
  });
  if (!vif) throw notFound('VIF', 'id');
  return vif;
}

const view = toVifView;

export async function listVifs(
  o: ServiceCtx & { vmId?: string | undefined; farmId?: string | undefined; cursor?: string | undefined; limit: number },
) {
  if (o.vmId === undefined && o.farmId === undefined) throw badRequest('vmId', 'give vmId or farmId');
  if (o.vmId !== undefined) await requireVm(o.db, o.actor, o.vmId, 'vmId');
  if (o.farmId !== undefined) await requireFarm(o.db, o.actor, o.farmId);
  const where = { ...(o.vmId !== undefined ? { vmId: o.vmId } : {}), ...(o.farmId !== undefined ? { vm: { farmId: o.farmId } } : {}) };
  await checkCursor(o.cursor, (id) => o.db.vif.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await o.db.vif.findMany({ where, select: vifSelect, orderBy: ORDER_BY_CREATED, ...pageArgs(o) });
  return toPage(rows.map(view), o);
}

export interface CreateVifInput {
  vmId: string;
  expectedRevision: number;
  vnetId: string;
  mac?: string | undefined;
  ip?: string | undefined;
}

export async function createVif(o: ServiceCtx & CreateVifInput): Promise<{ farmRevision: number; vif: VifView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const vm = await requireVm(tx, o.actor, o.vmId, 'vmId');
    await bump(vm.farm);
    await requireRoom(tx, vm.farm.id, 'vifs', 1, 'vmId');
    requireObjectRoom('vifsPerVm', `VM ${vm.name}`, vm.vifs.length, 'VIFs', 'vmId');
    const vnet = await requireVnetInFarm(tx, vm.farm.id, o.vnetId, 'vnetId');
    const taken = new Set(vm.vifs.map((v) => v.name));
    let n = 0;
    while (taken.has(`eth${n}`)) n++;
    const name = `eth${n}`;
    const [addr] = await assignAddresses(tx, [{ field: '', vnet, ip: o.ip, mac: o.mac, label: vifLabel(vm.name, name), from: 'low' }]);
    const created = await tx.vif.create({
      data: { vmId: vm.id, vnetId: vnet.id, name, mac: addr!.mac, ip: addr!.ip },
      select: { id: true },
    });
    await joinDefaultGroup(tx, vm.farm.id, [created.id]);
    const row = view((await tx.vif.findUnique({ where: { id: created.id }, select: vifSelect }))!);
    return { result: { vif: row }, audit: { action: 'vif.create', entity: 'vif', entityId: row.id, after: row } };
  });
}

export async function updateVif(
  o: ServiceCtx & { id: string; expectedRevision: number; mac?: string | undefined; ip?: string | undefined },
): Promise<{ farmRevision: number; vif: VifView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const current = await requireVif(tx, o.actor, o.id);
    await bump(current.vm.farm);
    const addr = await reassignAddresses(tx, {
      vnet: current.vnet, current, ip: o.ip, mac: o.mac, label: vifLabel(current.vm.name, current.name),
    });
    const row = view(await tx.vif.update({ where: { id: o.id }, data: addr, select: vifSelect }));
    return { result: { vif: row }, audit: { action: 'vif.update', entity: 'vif', entityId: o.id, before: view(current), after: row } };
  });
}

export async function deleteVif(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const current = await requireVif(tx, o.actor, o.id);
    await bump(current.vm.farm);
    await tx.vif.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'vif.delete', entity: 'vif', entityId: o.id, before: view(current) } };
  });
}
